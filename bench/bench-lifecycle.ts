/**
 * Teardown that also runs on Ctrl-C / SIGTERM. Without it an interrupted bench would leave
 * tcpdump, SIPp and the gateway process behind: Node skips 'exit' handlers when a signal with no
 * listener ends it, and the lab modules only kill their children from 'exit' handlers.
 */
type Cleanup = () => Promise<unknown> | unknown;

const stack: Cleanup[] = [];
let installed = false;
let interrupted = false;

async function unwind(): Promise<void> {
  while (stack.length) {
    const fn = stack.pop() as Cleanup;
    try {
      await fn();
    } catch {
      // Teardown keeps going: one stuck child must not keep the others alive.
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (interrupted) process.exit(130); // second Ctrl-C: give up on a graceful teardown
      interrupted = true;
      process.stderr.write(`\n${sig}: stopping everything this bench started ...\n`);
      const hard = setTimeout(() => process.exit(130), 15_000);
      void unwind().finally(() => {
        clearTimeout(hard);
        // exit() runs the lab modules' 'exit' handlers (SIGKILL to gateway/SIPp leftovers).
        process.exit(130);
      });
    });
  }
}

/** Registers a teardown step; returns a function that runs it now (once) and unregisters it. */
export function defer(fn: Cleanup): () => Promise<void> {
  install();
  let done = false;
  const wrapped: Cleanup = async () => {
    if (done) return;
    done = true;
    await fn();
  };
  stack.push(wrapped);
  return async () => {
    const i = stack.indexOf(wrapped);
    if (i >= 0) stack.splice(i, 1);
    await wrapped();
  };
}

/** Runs every registered teardown step, newest first (call from a finally). */
export async function teardownAll(): Promise<void> {
  await unwind();
}

export function wasInterrupted(): boolean {
  return interrupted;
}
