// The page's style-src lets a <style> element apply only with the page's nonce. Monaco, Radix and
// React write theirs at run time through document.createElement, so each gets the nonce here,
// before any of them loads (main.ts imports this first).
const nonce = document.querySelector<HTMLLinkElement>("link[nonce]")?.nonce ?? "";
const createElement = Document.prototype.createElement;
Document.prototype.createElement = function (this: Document, tagName: string, options?: ElementCreationOptions) {
  const element = createElement.call(this, tagName, options);
  if (element instanceof HTMLStyleElement) element.nonce = nonce;
  return element;
} as typeof createElement;
