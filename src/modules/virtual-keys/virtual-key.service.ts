// Provider credentials: stored sealed, readable as metadata only, and bound to their endpoint,
// which changes only together with the secret.
import canonicalize from "canonicalize";
import { and, count, eq, type SQL } from "drizzle-orm";
import { Permission } from "../../auth/permission.js";
import type { RequestMeta } from "../../context.js";
import { readableRows } from "../common/read-scope.js";
import { flushDeletedPages, type Db } from "../../db/client.js";
import { policyAttachments, routeTargets, virtualKeys } from "../../db/schema.js";
import type { Queryable } from "../../db/types.js";
import { badInput, conflict, forbidden, notFound } from "../../errors.js";
import { newId } from "../../ids.js";
import { EndpointRefusedError, type OutboundClient } from "../../net/outbound.js";
import type { AuditedWriter } from "../audit/audited-write.js";
import { attachablePolicies } from "../policies/policy.attachable.js";
import { newestFirst, pageSize, toPage, type PageArgs } from "../common/pagination.js";
import { resolveSlug, validateName } from "../common/slug.js";
import type { WorkspaceService } from "../workspaces/workspace.service.js";
import { parseProviderOptions, type ProviderOptions } from "./provider-options.js";
import type { SecretBox } from "./secret-box.js";
import { Provider } from "./virtual-key.type.js";
import { forgetPolicyTarget } from "../policies/policy.targets.js";

export const MAX_SECRET_BYTES = 8192;
const MAX_BASE_URL_LENGTH = 2048;

/** Every column but the sealed secret: nothing read here (or by routes, which show their targets) can leak it. */
export const VIEW = {
  id: virtualKeys.id,
  organizationId: virtualKeys.organizationId,
  workspaceId: virtualKeys.workspaceId,
  name: virtualKeys.name,
  slug: virtualKeys.slug,
  provider: virtualKeys.provider,
  baseUrl: virtualKeys.baseUrl,
  providerOptions: virtualKeys.providerOptions,
  secretHint: virtualKeys.secretHint,
  secretVersion: virtualKeys.secretVersion,
  createdAt: virtualKeys.createdAt,
  updatedAt: virtualKeys.updatedAt,
  lastUsedAt: virtualKeys.lastUsedAt,
};

export type VirtualKeyView = Omit<typeof virtualKeys.$inferSelect, "sealedSecret">;

export interface VirtualKeyFilterArgs {
  workspaceId?: string | null;
  provider?: Provider | null;
}

export interface CreateVirtualKeyArgs {
  name: string;
  slug?: string | null;
  provider: Provider;
  secret: string;
  baseUrl?: string | null;
  workspaceId?: string | null;
  policyIds?: string[] | null;
  providerOptions?: unknown;
}

/**
 * At most the last four characters, after a recognisable prefix such as "sk-", and fewer (or
 * none) for short secrets, so that the hint never narrows a guess much.
 */
export function secretHint(secret: string): string {
  const prefix = /^[A-Za-z]{2,4}-/.exec(secret)?.[0] ?? "";
  const rest = secret.length - prefix.length;
  const shown = rest >= 24 ? 4 : rest >= 16 ? 2 : 0;
  return `${shown > 0 ? prefix : ""}...${shown > 0 ? secret.slice(-shown) : ""}`;
}

/** Bounded, and free of control characters (a line break would split an HTTP header). Never echoed. */
function validateSecret(secret: string): string {
  if (secret.trim().length === 0) throw badInput("secret must not be empty", "secret");
  if (Buffer.byteLength(secret, "utf8") > MAX_SECRET_BYTES) throw badInput(`secret must be at most ${MAX_SECRET_BYTES} bytes`, "secret");
  if (/[\u0000-\u001f\u007f]/.test(secret)) throw badInput("secret must not contain control characters or line breaks", "secret");
  return secret;
}

export class VirtualKeyService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditedWriter,
    private readonly box: SecretBox,
    private readonly outbound: OutboundClient,
    private readonly workspaces: WorkspaceService,
  ) {}

  /** Keys the caller may read: all with VIRTUAL_KEY_READ organization-wide, else those of its workspaces. */
  private readable(meta: RequestMeta): SQL | undefined {
    return readableRows(meta, Permission.VIRTUAL_KEY_READ, { organizationId: virtualKeys.organizationId, workspaceId: virtualKeys.workspaceId });
  }

  list(meta: RequestMeta, filter: VirtualKeyFilterArgs | null | undefined, args: PageArgs) {
    const size = pageSize(args.first);
    const conditions = [this.readable(meta)];
    if (filter?.workspaceId) conditions.push(eq(virtualKeys.workspaceId, filter.workspaceId));
    if (filter?.provider) conditions.push(eq(virtualKeys.provider, filter.provider));
    const page = newestFirst(virtualKeys.createdAt, virtualKeys.id, args.after);
    const rows = this.db
      .select(VIEW)
      .from(virtualKeys)
      .where(and(...conditions, page.where))
      .orderBy(...page.orderBy)
      .limit(size + 1)
      .all();
    const totalCount = this.db.select({ n: count() }).from(virtualKeys).where(and(...conditions)).get()!.n;
    return { ...toPage(rows, size), totalCount };
  }

  find(meta: RequestMeta, id: string): VirtualKeyView | undefined {
    return this.db.select(VIEW).from(virtualKeys).where(and(this.readable(meta), eq(virtualKeys.id, id))).get();
  }

  async create(meta: RequestMeta, input: CreateVirtualKeyArgs): Promise<VirtualKeyView> {
    const organizationId = meta.principal.organizationId;
    const workspaceId = input.workspaceId ?? null;
    this.workspaces.assertMayCreateIn(meta, workspaceId, Permission.VIRTUAL_KEY_WRITE, "virtual key");
    const name = validateName(input.name);
    const slug = resolveSlug(input.slug, name);
    const secret = validateSecret(input.secret);
    const providerOptions = parseProviderOptions(input.provider, input.providerOptions);
    const baseUrl = await this.checkedBaseUrl(input.provider, input.baseUrl ?? null);
    return this.audit.write(meta, { action: "createVirtualKey", targetKind: "VirtualKey" }, (tx, at) => {
      // Inside the transaction: a policy deleted meanwhile is NOT_FOUND, not a foreign key failure.
      const policyIds = attachablePolicies(tx, meta, input.policyIds, workspaceId, "virtual key");
      this.assertSlugFree(tx, organizationId, slug);
      const id = newId("VirtualKey");
      const view: VirtualKeyView = {
        id,
        organizationId,
        workspaceId,
        name,
        slug,
        provider: input.provider,
        baseUrl,
        providerOptions,
        secretHint: secretHint(secret),
        secretVersion: 1,
        createdAt: at,
        updatedAt: at,
        lastUsedAt: null,
      };
      const sealedSecret = this.box.seal(organizationId, { virtualKeyId: id, secretVersion: 1, endpoint: { provider: input.provider, baseUrl, providerOptions } }, secret);
      tx.insert(virtualKeys).values({ ...view, sealedSecret }).run();
      for (const policyId of policyIds) {
        tx.insert(policyAttachments).values({ policyId, organizationId, targetKind: "VirtualKey", targetId: id, createdAt: at }).run();
      }
      return {
        result: view,
        targetId: id,
        workspaceId,
        details: { name, slug, provider: input.provider, baseUrl, providerOptions, version: 1, policyIds },
      };
    });
  }

  update(meta: RequestMeta, input: { id: string; name?: string | null }): VirtualKeyView {
    const current = this.loadForWrite(meta, input.id, "Changing");
    const name = input.name === null || input.name === undefined ? current.name : validateName(input.name);
    return this.audit.write(meta, { action: "updateVirtualKey", targetKind: "VirtualKey" }, (tx, at) => {
      const updatedAt = name === current.name ? current.updatedAt : at;
      const changed = tx
        .update(virtualKeys)
        .set({ name, updatedAt })
        .where(and(eq(virtualKeys.organizationId, current.organizationId), eq(virtualKeys.id, current.id)))
        .run().changes;
      if (changed === 0) throw notFound("VirtualKey");
      return { result: { ...current, name, updatedAt }, targetId: current.id, workspaceId: current.workspaceId, details: { name } };
    });
  }

  /** A new secret, and with it (only here) a new endpoint: omitted parts of the endpoint stay. */
  async rotateSecret(meta: RequestMeta, id: string, newSecret: string, baseUrlArg: string | null | undefined, providerOptionsArg: unknown): Promise<VirtualKeyView> {
    const current = this.loadForWrite(meta, id, "Rotating the secret of");
    const secret = validateSecret(newSecret);
    const provider = current.provider as Provider;
    const providerOptions =
      providerOptionsArg === null || providerOptionsArg === undefined
        ? ((current.providerOptions as ProviderOptions | null) ?? null)
        : parseProviderOptions(provider, providerOptionsArg);
    // The stored endpoint is checked again too: the secret is about to be sealed for it.
    const baseUrl = await this.checkedBaseUrl(provider, baseUrlArg ?? current.baseUrl);
    const endpointChanged = baseUrl !== current.baseUrl || canonicalize(providerOptions) !== canonicalize(current.providerOptions ?? null);
    return this.audit.write(meta, { action: "rotateVirtualKeySecret", targetKind: "VirtualKey" }, (tx, at) => {
      const where = and(eq(virtualKeys.organizationId, current.organizationId), eq(virtualKeys.id, id));
      // Read inside the transaction: two rotations at once still get two versions.
      const row = tx.select({ secretVersion: virtualKeys.secretVersion }).from(virtualKeys).where(where).get();
      if (!row) throw notFound("VirtualKey");
      const secretVersion = row.secretVersion + 1;
      const sealedSecret = this.box.seal(current.organizationId, { virtualKeyId: id, secretVersion, endpoint: { provider, baseUrl, providerOptions } }, secret);
      const changes = { baseUrl, providerOptions, secretHint: secretHint(secret), secretVersion, updatedAt: at };
      tx.update(virtualKeys)
        .set({ ...changes, sealedSecret })
        .where(where)
        .run();
      return {
        result: { ...current, ...changes },
        targetId: id,
        workspaceId: current.workspaceId,
        details: { version: secretVersion, endpointChanged, baseUrl, providerOptions },
      };
    });
  }

  delete(meta: RequestMeta, id: string): { deletedId: string } {
    const current = this.loadForWrite(meta, id, "Deleting");
    const result = this.audit.write(meta, { action: "deleteVirtualKey", targetKind: "VirtualKey" }, (tx) => {
      const targets = tx.select({ n: count() }).from(routeTargets).where(eq(routeTargets.virtualKeyId, id)).get()!.n;
      if (targets > 0) throw conflict(`A route targets this virtual key (${targets} target${targets === 1 ? "" : "s"}); remove it from its routes first`);
      forgetPolicyTarget(tx, current.organizationId, id);
      tx.delete(virtualKeys).where(and(eq(virtualKeys.organizationId, current.organizationId), eq(virtualKeys.id, id))).run();
      return { result: { deletedId: id }, targetId: id, workspaceId: current.workspaceId, details: { slug: current.slug } };
    });
    flushDeletedPages(this.db);
    return result;
  }

  /** NOT_FOUND for what the caller cannot see, FORBIDDEN for what it sees but may not change. */
  private loadForWrite(meta: RequestMeta, id: string, doing: string): VirtualKeyView {
    const row = this.db
      .select(VIEW)
      .from(virtualKeys)
      .where(and(eq(virtualKeys.organizationId, meta.principal.organizationId), eq(virtualKeys.id, id)))
      .get();
    if (!row) throw notFound("VirtualKey");
    const { access } = meta.principal;
    if (!access.has(Permission.VIRTUAL_KEY_WRITE, row.workspaceId)) {
      if (access.has(Permission.VIRTUAL_KEY_READ, row.workspaceId)) throw forbidden(`${doing} a virtual key needs VIRTUAL_KEY_WRITE in its scope`);
      throw notFound("VirtualKey");
    }
    return row;
  }

  private assertSlugFree(tx: Queryable, organizationId: string, slug: string): void {
    const taken = tx
      .select({ id: virtualKeys.id })
      .from(virtualKeys)
      .where(and(eq(virtualKeys.organizationId, organizationId), eq(virtualKeys.slug, slug)))
      .get();
    if (taken) throw conflict(`A virtual key with slug ${slug} already exists`);
  }

  /** https (unless private networks are allowed), public addresses only, canonical form. */
  private async checkedBaseUrl(provider: Provider, raw: string | null): Promise<string | null> {
    if (raw === null) {
      if (provider === Provider.OPENAI_COMPATIBLE) throw badInput("baseUrl is required for OPENAI_COMPATIBLE", "baseUrl");
      return null;
    }
    if (raw.length > MAX_BASE_URL_LENGTH) throw badInput(`baseUrl must be at most ${MAX_BASE_URL_LENGTH} characters`, "baseUrl");
    try {
      const url = await this.outbound.checkEndpoint(raw);
      return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
    } catch (err) {
      if (err instanceof EndpointRefusedError) throw badInput(`baseUrl is refused: ${err.message}`, "baseUrl");
      throw err;
    }
  }
}
