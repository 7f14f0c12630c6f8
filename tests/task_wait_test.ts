import assert from "node:assert/strict";
import type { ApiParams, ProxmoxApi, ToolContext } from "../src/tools/context.ts";
import { Inventory } from "../src/tools/inventory.ts";
import { waitForTask } from "../src/tools/task_wait.ts";
import { ManualClock } from "../src/util/clock.ts";
import { silentLogger } from "../src/util/log.ts";

const UPID = "UPID:pve1:0000ABCD:00012345:65A1B2C3:vzdump:106:root@pam:";

/** A task that writes `perPoll` log lines between status reads and stops after `polls`. */
function chattyTask(opts: { perPoll: number; polls: number }) {
  const logStarts: number[] = [];
  let written = 0;
  let statusReads = 0;
  const api: ProxmoxApi = {
    get<T>(path: string, params?: ApiParams): Promise<T> {
      if (path.endsWith("/log")) {
        const start = Number(params?.start ?? 0);
        const limit = Number(params?.limit ?? 50);
        logStarts.push(start);
        const end = Math.min(written, start + limit);
        const page = Array.from({ length: Math.max(0, end - start) }, (_, i) => ({
          n: start + i + 1,
          t: `line ${start + i + 1}`,
        }));
        return Promise.resolve(page as T);
      }
      statusReads++;
      const done = statusReads > opts.polls;
      if (!done) written += opts.perPoll;
      return Promise.resolve(
        (done ? { status: "stopped", exitstatus: "OK" } : { status: "running" }) as T,
      );
    },
    post: () => Promise.reject(new Error("no writes")),
    put: () => Promise.reject(new Error("no writes")),
    delete: () => Promise.reject(new Error("no writes")),
  };
  return { api, logStarts, written: () => written };
}

function context(api: ProxmoxApi, clock: ManualClock): ToolContext {
  return {
    api,
    inventory: new Inventory(api, clock),
    signal: new AbortController().signal,
    logger: silentLogger,
    tasks: {
      timeoutMs: 3_600_000,
      pollMs: 1000,
      clock,
      // The injected clock moves instead of waiting.
      sleep: (ms) => Promise.resolve(clock.advance(ms)),
    },
  };
}

Deno.test("waitForTask()  keeps the log's tail and a count, reading each line once", async () => {
  const clock = new ManualClock();
  const task = chattyTask({ perPoll: 700, polls: 4 });
  const out = await waitForTask(context(task.api, clock), UPID, { tailLines: 5 });
  assert.equal(out.state, "ok");
  assert.equal(out.logLines, 2800);
  assert.equal(task.written(), 2800);
  assert.deepEqual(out.tail, ["line 2796", "line 2797", "line 2798", "line 2799", "line 2800"]);
  // Every read starts right after the lines already read: none twice, none skipped.
  const starts = task.logStarts;
  assert.equal(starts[0], 0);
  assert.ok(starts.every((s, i) => i === 0 || s >= starts[i - 1]));
  assert.equal(starts.at(-1), 2800);
  assert.equal(out.waitedMs, 4000);
});

Deno.test("waitForTask()  a timed-out wait reports the tail and count so far", async () => {
  const clock = new ManualClock();
  const task = chattyTask({ perPoll: 3, polls: 1_000 });
  const ctx = context(task.api, clock);
  ctx.tasks!.timeoutMs = 10_000;
  const out = await waitForTask(ctx, UPID);
  assert.equal(out.state, "timeout");
  assert.equal(out.logLines, task.written() - 3, "the last poll's lines come with the next read");
  assert.equal(out.tail.length, 10);
  assert.equal(out.tail.at(-1), `line ${out.logLines}`);
});
