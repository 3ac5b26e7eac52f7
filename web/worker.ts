// The machine's thread: a Session (web/session.ts) answering the page's requests. The
// guest runs here so the page stays responsive while it does.

import { Session } from './session';
import type { Reply, Request } from './protocol';

interface WorkerScope {
  onmessage: ((e: MessageEvent<Request>) => void) | null;
  postMessage(message: Reply, transfer?: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;

// The debugger engine yields between run slices with setImmediate (Node's). A worker has
// none: a MessageChannel message is the same kind of task, so requests from the page
// (pause, keys) are taken between two slices.
const g = globalThis as { setImmediate?: (fn: () => void) => void };
if (!g.setImmediate) {
  const queue: (() => void)[] = [];
  const channel = new MessageChannel();
  channel.port1.onmessage = () => queue.shift()?.();
  g.setImmediate = (fn) => {
    queue.push(fn);
    channel.port2.postMessage(0);
  };
}

const session = new Session((reply, transfer) => scope.postMessage(reply, transfer ?? []));

scope.onmessage = (e) => {
  session.handle(e.data).catch((err: unknown) => {
    scope.postMessage({ type: 'error', message: `internal error: ${(err as Error)?.message ?? String(err)}` });
  });
};
