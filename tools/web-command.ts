// `forklab web [IMAGE...] [--port N]`: serves the browser page (dist/web, bundled by
// tools/bundle.mjs) on 127.0.0.1 with the images it boots: the IMAGEs given (each with the
// kernel.map beside it, if any), or our kernel built from boot/ and kernel/. `--out DIR`
// writes the same site as a static folder instead (`npm run build:web`), for any web
// server or GitHub Pages.
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandArgs, parseNumberOption, UsageError } from './cli-util';
import { buildImage } from './build-image';
import { formatSymbolMap } from './asm';
import { diskOptions, ImageError } from '../web/adapter';

export const WEB_OPTIONS = {
  port: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const WEB_USAGE = `usage: forklab web [IMAGE...] [options]

Serves the browser front end on 127.0.0.1 and prints its URL. The page boots the first IMAGE
(the others can be chosen in the page); a kernel.map beside an image gives its symbols.
Without IMAGE it boots the forklab kernel, built from boot/ and kernel/.

  --port N                 the port to serve on (default 8080; 0 picks a free one)
  --out DIR                write the site as a static folder into DIR and exit (no server)
  -h, --help               this help
`;

/** The package root: dist/forklab.js (the bundle) or tools/web-command.ts lives one below. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.map': 'text/plain; charset=utf-8', '.png': 'image/png',
};

interface SiteImage {
  name: string;
  image: Uint8Array;
  map: string | null;
}

/** The files of the site, by URL path (no leading slash). */
export function siteFiles(images: SiteImage[]): Map<string, Uint8Array | string> {
  const assets = join(ROOT, 'dist', 'web');
  if (!existsSync(join(assets, 'app.js'))) throw new UsageError(`web: ${assets} is missing; run \`npm run build\` (or \`node tools/bundle.mjs\`) first`);
  const files = new Map<string, Uint8Array | string>();
  for (const f of readdirSync(assets)) if (!f.endsWith('.js.map')) files.set(f, readFileSync(join(assets, f)));
  const list = images.map((img, i) => {
    const dir = `images/${i}`;
    files.set(`${dir}/${img.name}`, img.image);
    if (img.map !== null) files.set(`${dir}/kernel.map`, img.map);
    return { name: img.name, image: `${dir}/${encodeURIComponent(img.name)}`, map: img.map === null ? null : `${dir}/kernel.map` };
  });
  files.set('images.json', JSON.stringify(list, null, 1));
  return files;
}

function readImage(path: string): SiteImage {
  let data: Uint8Array;
  try {
    if (!statSync(path).isFile()) throw new UsageError(`web: '${path}' is not a regular file`);
    data = new Uint8Array(readFileSync(path));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`web: '${path}': no such file`);
  }
  try {
    diskOptions(basename(path), data);
  } catch (e) {
    if (e instanceof ImageError) throw new UsageError(`web: ${e.message}`);
    throw e;
  }
  const mapPath = join(dirname(path), 'kernel.map');
  return { name: basename(path), image: data, map: existsSync(mapPath) ? readFileSync(mapPath, 'utf8') : null };
}

/** Our kernel, assembled from the sources of the package. */
function builtInKernel(): SiteImage {
  const { image, symbols } = buildImage(ROOT);
  return { name: 'forklab.img', image, map: formatSymbolMap(symbols) };
}

export async function webCommand(args: string[]): Promise<number> {
  const { values: v, positionals } = parseCommandArgs('web', args, WEB_OPTIONS);
  if (v.help) {
    process.stdout.write(WEB_USAGE);
    return 0;
  }
  const port = parseNumberOption('port', v.port, 8080);
  if (port > 65535) throw new UsageError(`--port: ${port} is not a TCP port (0-65535)`);
  const images = positionals.length ? positionals.map(readImage) : [builtInKernel()];
  const files = siteFiles(images);

  if (v.out !== undefined) {
    for (const [path, body] of files) {
      const to = join(v.out, path);
      mkdirSync(dirname(to), { recursive: true });
      writeFileSync(to, body);
    }
    process.stdout.write(`forklab web: wrote ${files.size} files to ${v.out}\n`);
    return 0;
  }

  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]).replace(/^\/+/, '') || 'index.html';
    const body = files.get(path);
    if (body === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain', connection: 'close' }).end('not found\n');
      return;
    }
    // connection: close -- a handful of files per page load; no idle socket for a client to
    // reuse just as the server times it out
    res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-store', connection: 'close' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(new UsageError(e.code === 'EADDRINUSE' ? `web: port ${port} on 127.0.0.1 is in use (try --port 0)` : `web: cannot listen on port ${port}: ${e.message}`)),
    );
    server.listen(port, '127.0.0.1', () => ok());
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  process.stdout.write(`forklab web: http://127.0.0.1:${actual}/  (Ctrl-C stops it)\n`);
  await new Promise<void>((done) => {
    const stop = () => server.close(() => done());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

