// A GraphQL client over real HTTP. Failing assertions print the whole response.
export interface GraphQLResponse<T = any> {
  status: number;
  headers: Headers;
  body: { data?: T; errors?: { message: string; path?: string[]; extensions: { code: string; requestId: string; [k: string]: unknown } }[] };
  text: string;
}

export class GraphQLClient {
  constructor(
    readonly url: string,
    readonly token?: string,
  ) {}

  async query<T = any>(query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<GraphQLResponse<T>> {
    const res = await fetch(`${this.url}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(this.token !== undefined ? { authorization: `Bearer ${this.token}` } : {}),
        ...headers,
      },
      body: JSON.stringify({ query, variables }),
    });
    const text = await res.text();
    let body: GraphQLResponse<T>["body"];
    try {
      body = JSON.parse(text);
    } catch {
      body = {};
    }
    return { status: res.status, headers: res.headers, body, text };
  }

  /** The data of a query that must succeed; throws with the response otherwise. */
  async data<T = any>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const res = await this.query<T>(query, variables);
    if (res.status !== 200 || res.body.errors || !res.body.data) throw new Error(`GraphQL call failed (${res.status}): ${res.text}`);
    return res.body.data;
  }

  /** The first error's code of a query that must fail. */
  async errorCode(query: string, variables?: Record<string, unknown>): Promise<string> {
    const res = await this.query(query, variables);
    const code = res.body.errors?.[0]?.extensions?.code;
    if (!code) throw new Error(`Expected an error (${res.status}): ${res.text}`);
    return code;
  }
}

export function withToken(client: GraphQLClient, token: string): GraphQLClient {
  return new GraphQLClient(client.url, token);
}
