// List prices of well-known models, in US dollars per million tokens, to put a cost on each
// call. A model is priced by the longest known name it starts with ("gpt-4o-2024-08-06" is
// priced as "gpt-4o"); a model not listed here costs 0, which budgets then cannot see.
interface Price {
  prompt: number;
  completion: number;
}

const PER_MILLION: Record<string, Price> = {
  "gpt-4o": { prompt: 2.5, completion: 10 },
  "gpt-4o-mini": { prompt: 0.15, completion: 0.6 },
  "gpt-4.1": { prompt: 2, completion: 8 },
  "gpt-4.1-mini": { prompt: 0.4, completion: 1.6 },
  "gpt-4.1-nano": { prompt: 0.1, completion: 0.4 },
  "gpt-4-turbo": { prompt: 10, completion: 30 },
  "gpt-3.5-turbo": { prompt: 0.5, completion: 1.5 },
  o1: { prompt: 15, completion: 60 },
  "o1-mini": { prompt: 1.1, completion: 4.4 },
  "o3-mini": { prompt: 1.1, completion: 4.4 },
  "claude-3-5-sonnet": { prompt: 3, completion: 15 },
  "claude-3-5-haiku": { prompt: 0.8, completion: 4 },
  "claude-3-7-sonnet": { prompt: 3, completion: 15 },
  "claude-3-opus": { prompt: 15, completion: 75 },
  "claude-3-haiku": { prompt: 0.25, completion: 1.25 },
  "claude-sonnet-4": { prompt: 3, completion: 15 },
  "claude-opus-4": { prompt: 15, completion: 75 },
  "gemini-1.5-pro": { prompt: 1.25, completion: 5 },
  "gemini-1.5-flash": { prompt: 0.075, completion: 0.3 },
  "gemini-2.0-flash": { prompt: 0.1, completion: 0.4 },
  "gemini-2.5-pro": { prompt: 1.25, completion: 10 },
  "gemini-2.5-flash": { prompt: 0.3, completion: 2.5 },
  // Embeddings bill their input only.
  "text-embedding-3-small": { prompt: 0.02, completion: 0 },
  "text-embedding-3-large": { prompt: 0.13, completion: 0 },
  "text-embedding-ada-002": { prompt: 0.1, completion: 0 },
  "gemini-embedding-001": { prompt: 0.15, completion: 0 },
};

// Longest first, so that "gpt-4o-mini" wins over "gpt-4o".
const NAMES = Object.keys(PER_MILLION).sort((a, b) => b.length - a.length);

function priceOf(model: string): Price | undefined {
  const name = model.toLowerCase();
  const known = NAMES.find((n) => name === n || name.startsWith(`${n}-`));
  return known ? PER_MILLION[known] : undefined;
}

/** The cost of a call in US dollars; 0 for a model without a known price. */
export function costUsd(model: string, promptTokens: number, completionTokens: number): number {
  const price = priceOf(model);
  if (!price) return 0;
  return (promptTokens * price.prompt + completionTokens * price.completion) / 1_000_000;
}
