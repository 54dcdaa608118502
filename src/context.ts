// What every resolver and service knows about the request.
import type { Principal } from "./auth/principal.js";
import type { Services } from "./services.js";

/** Who asks, from where: what services need to scope work and to write audit events. */
export interface RequestMeta {
  requestId: string;
  principal: Principal;
  ip: string | null;
  userAgent: string | null;
}

export interface Context extends RequestMeta {
  services: Services;
  /** Filled in while the request runs. Apollo shallow-copies the context, so this is a shared object. */
  /** name: as the client called it (free text); field: the first root field, from the schema (a metrics label). */
  operation: { name: string | null; field?: string | null };
}
