// `forklab web [IMAGE...] [--hda FILE] [--map FILE] [--port N]`: serves the browser page
// (dist/web, bundled by tools/bundle.mjs) on 127.0.0.1 with the images it boots: the IMAGEs
// given (each with the kernel.map beside it, if any; the first with the hard disk and the
// symbol map named, as the real Linux 0.11 needs), or our kernel built from boot/ and
// kernel/. `--out DIR`
// writes the same site as a static folder instead (`npm run build:web`), for any web
// server or GitHub Pages.
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandArgs, parseNumberOption, UsageError } from './cli-util';
import { buildImage } from './build-image';
import { formatSymbolMap } from './asm';
import { diskOptions, ImageError, parseSymbols, unpackDisk } from '../web/adapter';

export const WEB_OPTIONS = {
  hda: { type: 'string' },
  map: { type: 'string' },
  port: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const WEB_USAGE = `usage: forklab web [IMAGE...] [options]

Serves the browser front end on 127.0.0.1 and prints its URL. The page boots the first IMAGE
(the others can be chosen in the page); a kernel.map beside an image gives its symbols.
Without IMAGE it boots the forklab kernel, built from boot/ and kernel/.

  --hda FILE               a hard disk for the first IMAGE (gzip data is unpacked in the
                           page), e.g. Linux 0.11's root disk hdc-0.11.img.gz
  --map FILE               the symbol map of the first IMAGE (kernel.map or nm's System.map)
                           instead of the kernel.map beside it
  --port N                 the port to serve on (default 8080; 0 picks a free one)
  --out DIR                write the site as a static folder into DIR and exit (no server)
  -h, --help               this help
`;

/** The package root: dist/forklab.cjs (the bundle) or tools/web-command.ts lives one below. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.map': 'text/plain; charset=utf-8', '.png': 'image/png',
};

interface SiteFile {
  name: string;
  data: Uint8Array | string;
}

interface SiteImage {
  image: SiteFile;
  hda: SiteFile | null;
  map: SiteFile | null;
}

/** The files of the site, by URL path (no leading slash). */
export function siteFiles(images: SiteImage[]): Map<string, Uint8Array | string> {
  const assets = join(ROOT, 'dist', 'web');
  if (!existsSync(join(assets, 'app.js'))) throw new UsageError(`web: ${assets} is missing; run \`npm run build\` (or \`node tools/bundle.mjs\`) first`);
  const files = new Map<string, Uint8Array | string>();
  for (const f of readdirSync(assets)) if (!f.endsWith('.js.map')) files.set(f, readFileSync(join(assets, f)));
  const list = images.map((img, i) => {
    const dir = `images/${i}`;
    const put = (f: SiteFile | null) => {
      if (f === null) return null;
      files.set(`${dir}/${f.name}`, f.data);
      return `${dir}/${encodeURIComponent(f.name)}`;
    };
    const entry: Record<string, string | null> = { name: img.image.name, image: put(img.image), map: put(img.map) };
    if (img.hda) entry.hda = put(img.hda);
    return entry;
  });
  files.set('images.json', JSON.stringify(list, null, 1));
  return files;
}

function readFile(path: string, what: string): Uint8Array {
  try {
    if (!statSync(path).isFile()) throw new UsageError(`web: ${what}'${path}' is not a regular file`);
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`web: ${what}'${path}': no such file`);
  }
}

/** IMAGE (and, for the first, --hda and --map), checked as the page will take them (the
 *  page's own checks: a problem is its one line). */
async function readImage(path: string, hdaPath?: string, mapPath?: string): Promise<SiteImage> {
  const image = { name: basename(path), data: readFile(path, '') };
  const hda = hdaPath === undefined ? null : { name: basename(hdaPath), data: readFile(hdaPath, '--hda ') };
  const beside = join(dirname(path), 'kernel.map');
  const map = mapPath !== undefined
    ? { name: basename(mapPath), data: Buffer.from(readFile(mapPath, '--map ')).toString('utf8') }
    : existsSync(beside) ? { name: 'kernel.map', data: readFileSync(beside, 'utf8') } : null;
  try {
    // the page unpacks gzip data: check what it will find
    const disks = [image];
    if (hda) disks.push({ name: hda.name, data: await unpackDisk(hda.name, hda.data) });
    diskOptions(disks);
    if (map) parseSymbols(map.name, map.data);
  } catch (e) {
    if (e instanceof ImageError) throw new UsageError(`web: ${e.message}`);
    throw e;
  }
  return { image, hda, map };
}

/** Our kernel, assembled from the sources of the package. */
function builtInKernel(): SiteImage {
  const { image, symbols } = buildImage(ROOT);
  return { image: { name: 'forklab.img', data: image }, hda: null, map: { name: 'kernel.map', data: formatSymbolMap(symbols) } };
}

export async function webCommand(args: string[]): Promise<number> {
  const { values: v, positionals } = parseCommandArgs('web', args, WEB_OPTIONS);
  if (v.help) {
    process.stdout.write(WEB_USAGE);
    return 0;
  }
  const port = parseNumberOption('port', v.port, 8080);
  if (port > 65535) throw new UsageError(`--port: ${port} is not a TCP port (0-65535)`);
  if (!positionals.length && (v.hda !== undefined || v.map !== undefined)) throw new UsageError(`web: --${v.hda !== undefined ? 'hda' : 'map'} goes with an IMAGE`);
  const images: SiteImage[] = [];
  for (const [i, p] of positionals.entries()) images.push(await (i === 0 ? readImage(p, v.hda, v.map) : readImage(p)));
  if (images.length === 0) images.push(builtInKernel());
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

