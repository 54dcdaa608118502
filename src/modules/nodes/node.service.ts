// node(id): the ID prefix names the type, and each module lends a loader that applies its
// own read rules. What the caller cannot read does not exist for it.
import type { RequestMeta } from "../../context.js";
import { idKind, type IdKind } from "../../ids.js";

export type NodeLoader = (meta: RequestMeta, id: string) => object | undefined;

export class NodeService {
  private readonly loaders = new Map<IdKind, NodeLoader>();

  register(kind: IdKind, loader: NodeLoader): void {
    this.loaders.set(kind, loader);
  }

  load(meta: RequestMeta, id: string): object | undefined {
    const kind = idKind(id);
    const loader = kind && this.loaders.get(kind);
    return loader ? loader(meta, id) : undefined;
  }
}
