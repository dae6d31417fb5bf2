/**
 * The browser files' URLs. Our own (bundles, precompiled macros, the Nunjucks runtime, our style
 * sheet) are content-hashed by scripts/build.mjs and listed in `<build>/manifest.json`; vendor
 * files (Bootstrap, its icons) are served from node_modules under their package version
 * (`/vendor/bootstrap@5.3.9/…`), which pins their content as a hash would. Either way a URL names
 * one content for good, so it is served immutable for a year, and a page names the files of its
 * own build and installed packages only.
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** The URL path our built files are served under. */
export const BUILD_URL = '/build';
export const IMMUTABLE = 'public, max-age=31536000, immutable';

export interface VendorMount {
  /** `/vendor/<package>@<version>` */
  url: string;
  dir: string;
}

/** The vendor packages a page may load, by the name templates use (`vendor/<name>/…`). */
export function vendorMounts(): Record<string, VendorMount> {
  const mount = (pkg: string, sub: string): VendorMount => {
    const pkgJson = require.resolve(`${pkg}/package.json`);
    const { version } = JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string };
    return { url: `/vendor/${pkg}@${version}`, dir: path.join(path.dirname(pkgJson), sub) };
  };
  return { bootstrap: mount('bootstrap', 'dist'), 'bootstrap-icons': mount('bootstrap-icons', 'font') };
}

export interface Assets {
  /** The build's folder (`public/build` unless built elsewhere). */
  readonly dir: string;
  /**
   * The URL of a browser file: a built one by its name before hashing (`chat.js`), or a vendor
   * one as `vendor/<package>/<path>`. An unknown name throws: a template naming a file the
   * build does not make is a bug to see at once, not a 404 in a browser.
   */
  url(name: string): string;
  /** Whether a file in the build folder is one of the current build's hashed files. */
  isHashed(file: string): boolean;
  readonly vendor: Record<string, VendorMount>;
}

/**
 * Reads `<dir>/manifest.json`. With `reload` (development: `npm run dev` rebuilds the browser side
 * while the server keeps running) it is read again whenever the file changes; otherwise once, at
 * once: a production node without a browser build stops at start-up instead of failing every page.
 */
export function loadAssets(dir: string, reload: boolean): Assets {
  const file = path.join(dir, 'manifest.json');
  let manifest: Record<string, string> | null = null;
  let hashed = new Set<string>();
  let readAt = -1;
  const current = (): Record<string, string> => {
    if (manifest && !reload) return manifest;
    let mtime: number;
    try {
      mtime = statSync(file).mtimeMs;
    } catch {
      throw new Error(`no browser build at ${file}: run npm run build`);
    }
    if (!manifest || mtime !== readAt) {
      manifest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
      hashed = new Set(Object.values(manifest));
      readAt = mtime;
    }
    return manifest;
  };
  if (!reload) current();
  const vendor = vendorMounts();
  return {
    dir,
    vendor,
    url(name) {
      const v = /^vendor\/([^/]+)\/(.+)$/.exec(name);
      if (v) {
        const mount = vendor[v[1]!];
        if (!mount) throw new Error(`asset ${name}: no vendor package ${v[1]}`);
        return `${mount.url}/${v[2]}`;
      }
      const built = current()[name];
      if (!built) throw new Error(`asset ${name}: not in ${file}`);
      return `${BUILD_URL}/${built}`;
    },
    isHashed(f) {
      current();
      return hashed.has(f);
    },
  };
}
