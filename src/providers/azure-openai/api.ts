// Azure OpenAI: a deployment of a resource, addressed by the options sealed with the key.
import type { ProviderEndpoint } from "../types.js";
import { ProviderFailure } from "../errors.js";

export function azureChatUrl(endpoint: ProviderEndpoint): { url: string; query: Record<string, string> } {
  return azureDeploymentUrl(endpoint, "chat/completions");
}

export function azureEmbeddingsUrl(endpoint: ProviderEndpoint): { url: string; query: Record<string, string> } {
  return azureDeploymentUrl(endpoint, "embeddings");
}

function azureDeploymentUrl(endpoint: ProviderEndpoint, operation: string): { url: string; query: Record<string, string> } {
  const { resourceName, deploymentId, apiVersion } = endpoint.providerOptions ?? {};
  if (typeof resourceName !== "string" || typeof deploymentId !== "string" || typeof apiVersion !== "string") throw new ProviderFailure("unsupported");
  const base = (endpoint.baseUrl ?? `https://${resourceName}.openai.azure.com`).replace(/\/+$/, "");
  return { url: `${base}/openai/deployments/${encodeURIComponent(deploymentId)}/${operation}`, query: { "api-version": apiVersion } };
}

export function azureHeaders(secret: string): Record<string, string> {
  return { "api-key": secret };
}
