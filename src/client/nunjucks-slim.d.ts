// The slim runtime runs precompiled templates only (it never compiles, so the CSP needs no
// 'unsafe-eval'); @types/nunjucks describes the full package, so the few calls used are typed here.
declare module 'nunjucks/browser/nunjucks-slim.js' {
  export interface Template {
    getExported(cb: (err: Error | null, exported: Record<string, unknown>) => void): void;
  }
  export class PrecompiledLoader {
    constructor(templates: unknown);
  }
  export class Environment {
    constructor(loaders: PrecompiledLoader | PrecompiledLoader[], opts?: { autoescape?: boolean });
    getTemplate(name: string, eagerCompile?: boolean): Template;
  }
  const nunjucks: { Environment: typeof Environment; PrecompiledLoader: typeof PrecompiledLoader };
  export default nunjucks;
}
