// The slim Nunjucks runtime, loaded as a classic script before the bundle (window.nunjucks), and
// the precompiled macros it runs (window.nunjucksPrecompiled). Slim never compiles, so the CSP
// needs no 'unsafe-eval'. Only the calls used here are typed.
export interface NunjucksTemplate {
  getExported(cb: (err: Error | null, exported: Record<string, unknown>) => void): void;
}

export interface NunjucksSlim {
  Environment: new (
    loaders: unknown,
    opts?: { autoescape?: boolean },
  ) => {
    getTemplate(name: string, eagerCompile?: boolean): NunjucksTemplate;
    addGlobal(name: string, value: unknown): unknown;
    addFilter(name: string, fn: (...args: never[]) => unknown): unknown;
  };
  PrecompiledLoader: new (templates: Record<string, unknown>) => unknown;
}

declare global {
  interface Window {
    nunjucks?: NunjucksSlim;
    nunjucksPrecompiled?: Record<string, unknown>;
  }
}
