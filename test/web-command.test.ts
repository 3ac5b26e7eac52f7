// `forklab web`: the site it serves on 127.0.0.1 or writes with --out, its one-line errors,
// and the README's "In the browser" commands, run as shown.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { haveKit } from './linux011-kit';

const forklab = (...args: string[]) => spawnSync('node', ['bin/forklab.js', ...args], { encoding: 'utf8', timeout: 120_000 });
const tmp = mkdtempSync(join(tmpdir(), 'forklab-web-'));

/** Starts `forklab web ARGS`, returns its URL and a stop() that ends it with SIGINT. */
async function serve(args: string[]) {
  const p = spawn('node', ['bin/forklab.js', 'web', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = await new Promise<string>((ok, fail) => {
    p.stdout.on('data', (d) => {
      out += d;
      const m = /^forklab web: (http:\/\/127\.0\.0\.1:\d+\/) /m.exec(out);
      if (m) ok(m[1]);
    });
    p.once('exit', (code) => fail(new Error(`forklab web exited with ${code}`)));
  });
  const stop = () => new Promise<number | null>((done) => {
    p.once('exit', (code) => done(code));
    p.kill('SIGINT');
  });
  return { url, stop };
}

/** A 1.44 MB floppy whose boot sector is `hlt` (enough to be a boot image). */
function floppy(path: string): Uint8Array {
  const b = new Uint8Array(1474560);
  b[0] = 0xf4;
  b[510] = 0x55;
  b[511] = 0xaa;
  writeFileSync(path, b);
  return b;
}

describe('forklab web', () => {
  it('serves the page, the list of images and each image with the kernel.map beside it', async () => {
    const dir = mkdtempSync(join(tmp, 'img-'));
    const img = floppy(join(dir, 'hlt.img'));
    writeFileSync(join(dir, 'kernel.map'), '00007C00 start\n');
    const { url, stop } = await serve([join(dir, 'hlt.img'), '--port', '0']);
    try {
      const html = await (await fetch(url)).text();
      expect(html).toContain('<script src="app.js"></script>');
      for (const f of ['app.js', 'worker.js', 'style.css']) expect((await fetch(url + f)).status).toBe(200);
      const list = (await (await fetch(url + 'images.json')).json()) as { image: string; map: string }[];
      expect(list).toEqual([{ name: 'hlt.img', image: 'images/0/hlt.img', map: 'images/0/kernel.map' }]);
      expect(new Uint8Array(await (await fetch(url + list[0].image)).arrayBuffer())).toEqual(img);
      expect(await (await fetch(url + list[0].map)).text()).toBe('00007C00 start\n');
      expect((await fetch(url + 'nothing-here')).status).toBe(404);
      expect((await fetch(url + '../package.json')).status).toBe(404);
    } finally {
      expect(await stop()).toBe(0);
    }
  });

  it('serves the first IMAGE with the hard disk (--hda, gzip data as it is) and the symbol map (--map) named', async () => {
    const dir = mkdtempSync(join(tmp, 'hda-'));
    floppy(join(dir, 'boot.img'));
    const disk = new Uint8Array(4 * 17 * 512 * 10); // 10 cylinders of a 4-head, 17-sector drive
    const gz = gzipSync(disk);
    writeFileSync(join(dir, 'root.img.gz'), gz);
    writeFileSync(join(dir, 'System.map'), '00000000 T startup_32\n000081e7 T copy_process\n');
    const { url, stop } = await serve([join(dir, 'boot.img'), '--hda', join(dir, 'root.img.gz'), '--map', join(dir, 'System.map'), '--port', '0']);
    try {
      const list = (await (await fetch(url + 'images.json')).json()) as Record<string, string>[];
      expect(list).toEqual([{ name: 'boot.img', image: 'images/0/boot.img', map: 'images/0/System.map', hda: 'images/0/root.img.gz' }]);
      expect(new Uint8Array(await (await fetch(url + list[0].hda)).arrayBuffer())).toEqual(new Uint8Array(gz));
      expect(await (await fetch(url + list[0].map)).text()).toMatch(/^000081e7 T copy_process$/m);
    } finally {
      expect(await stop()).toBe(0);
    }
  });

  it('writes a static site with our kernel built in (--out)', () => {
    const out = join(tmp, 'site');
    const r = forklab('web', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^forklab web: wrote \d+ files to /);
    const list = JSON.parse(readFileSync(join(out, 'images.json'), 'utf8'));
    expect(list).toEqual([{ name: 'forklab.img', image: 'images/0/forklab.img', map: 'images/0/kernel.map' }]);
    expect(readFileSync(join(out, 'images/0/forklab.img')).length).toBe(1474560);
    expect(readFileSync(join(out, 'images/0/kernel.map'), 'utf8')).toMatch(/^[0-9A-F]{8} copy_process$/m);
    for (const f of ['index.html', 'app.js', 'worker.js', 'style.css']) expect(existsSync(join(out, f))).toBe(true);
  });

  it('says in one line what is wrong, with status 2', async () => {
    const notes = join(tmp, 'notes.txt');
    writeFileSync(notes, 'not a disk\n');
    const boot = join(tmp, 'boot.img');
    floppy(boot);
    const badGz = join(tmp, 'bad.img.gz');
    writeFileSync(badGz, gzipSync(new Uint8Array(1 << 20)).subarray(0, 100));
    const busy = createServer();
    await new Promise<void>((ok) => busy.listen(0, '127.0.0.1', ok));
    const port = String((busy.address() as { port: number }).port);
    try {
      for (const [args, message] of [
        [['/nonexistent/x.img'], "forklab: web: '/nonexistent/x.img': no such file"],
        [[notes], "forklab: web: 'notes.txt' is not a disk image: 11 bytes, less than one 512-byte sector"],
        [['--port', '70000'], 'forklab: --port: 70000 is not a TCP port (0-65535)'],
        [['--hda', boot], 'forklab: web: --hda goes with an IMAGE'],
        [[boot, '--hda', '/nonexistent/hdc.img'], "forklab: web: --hda '/nonexistent/hdc.img': no such file"],
        [[boot, '--hda', boot], "forklab: web: 'boot.img' and 'boot.img' are both floppy images: give one floppy and/or one hard disk"],
        [[boot, '--hda', badGz], "forklab: web: 'bad.img.gz' is not a disk image: its gzip data is damaged"],
        [[boot, '--map', notes], `forklab: web: 'notes.txt': notes.txt:1: expected "XXXXXXXX name" or nm's "XXXXXXXX T name", got "not a disk"`],
        [['--port', 'x'], "forklab: --port: 'x' is not a number"],
        [['--bogus'], "forklab: web: Unknown option '--bogus'"],
        [['--port', port], `forklab: web: port ${port} on 127.0.0.1 is in use (try --port 0)`],
      ] as const) {
        const r = forklab('web', ...args);
        expect(r.status, args.join(' ')).toBe(2);
        expect(r.stderr).toBe(message + '\n');
      }
    } finally {
      busy.close();
    }
  });
});

describe('README "In the browser"', () => {
  const readme = readFileSync('README.md', 'utf8');
  const at = readme.indexOf('## In the browser');
  const start = readme.indexOf('```sh\n', at) + 6;
  const cmds = readme.slice(start, readme.indexOf('```', start)).split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);

  it('shows the commands that work as shown', async () => {
    expect(at).toBeGreaterThan(0);
    const linux = '../shared/guests/linux-0.11';
    const linuxArgs = [`${linux}/Image`, '--hda', `${linux}/hdc-0.11.img.gz`, '--map', `${linux}/System.map`];
    expect(cmds).toEqual(['npx forklab web', 'npx forklab web build/forklab.img --port 8090', `npx forklab web ${linuxArgs.join(' ')}`, 'npm run build:web']);
    // the server ones: they print their URL and serve the page until stopped
    const a = await serve(['--port', '0']);
    expect((await fetch(a.url + 'images.json')).status).toBe(200);
    expect(await a.stop()).toBe(0);
    expect(forklab('build').status).toBe(0);
    const b = await serve(['build/forklab.img', '--port', '8090']);
    expect(b.url).toBe('http://127.0.0.1:8090/');
    expect((await (await fetch(b.url + 'images/0/kernel.map')).text())).toMatch(/ copy_process$/m);
    expect(await b.stop()).toBe(0);
    // Linux 0.11 from the guest kit (on a free port: 8080 may be taken)
    if (haveKit()) {
      const c = await serve([...linuxArgs, '--port', '0']);
      const list = (await (await fetch(c.url + 'images.json')).json()) as Record<string, string>[];
      expect(list).toEqual([{ name: 'Image', image: 'images/0/Image', map: 'images/0/System.map', hda: 'images/0/hdc-0.11.img.gz' }]);
      expect(await (await fetch(c.url + list[0].map)).text()).toMatch(/^0000a76b T do_wp_page$/m);
      expect(await c.stop()).toBe(0);
    }
    // build:web bundles, then writes the site; the suite's global setup has bundled already
    // (bundling again here would rewrite dist/ under the suites running beside this one)
    const script = JSON.parse(readFileSync('package.json', 'utf8')).scripts['build:web'] as string;
    expect(script.startsWith('node tools/bundle.mjs && node bin/forklab.js ')).toBe(true);
    const r = forklab(...script.slice('node tools/bundle.mjs && node bin/forklab.js '.length).split(' '));
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync('build/web/images/0/forklab.img')).toBe(true);
  }, 180_000);
});
