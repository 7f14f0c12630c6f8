/**
 * The policy pipeline every tool call passes through, configured once. Each stage may refuse
 * the call, answer it itself, or pass it on; the tool's handler runs last.
 *
 * @module
 */
import type { ToolContext } from "../tools/context.ts";
import type { Tool, ToolOutput } from "../tools/tool.ts";

/** One tool call on its way through the pipeline. */
export interface ToolCall {
  tool: Tool;
  args: Record<string, unknown>;
  ctx: ToolContext;
}

/** A pipeline stage: refuse by throwing `PolicyRefusal`, or call `next()` to go on. */
export type Stage = (call: ToolCall, next: () => Promise<ToolOutput<unknown>>) => Promise<
  ToolOutput<unknown>
>;

/** A call refused by policy; the message says why and what would be allowed. */
export class PolicyRefusal extends Error {
  /** @param message Why the call was refused and what to do instead. */
  constructor(message: string) {
    super(message);
    this.name = "PolicyRefusal";
  }
}

/** Runs every call through the same stages, in order, then the tool's handler. */
export class Pipeline {
  #stages: readonly Stage[];
  #visible: (tool: Tool) => boolean;

  /**
   * @param stages Run in order around the handler.
   * @param visible Which tools are listed at all (e.g. read-only mode hides writers).
   */
  constructor(stages: readonly Stage[], visible: (tool: Tool) => boolean = () => true) {
    this.#stages = stages;
    this.#visible = visible;
  }

  /** Whether `tool` is offered to clients. */
  visible(tool: Tool): boolean {
    return this.#visible(tool);
  }

  /** Runs `call` through every stage and the handler. */
  run(call: ToolCall): Promise<ToolOutput<unknown>> {
    const step = (i: number): Promise<ToolOutput<unknown>> =>
      i < this.#stages.length
        ? this.#stages[i](call, () => step(i + 1))
        : call.tool.handler(call.args, call.ctx);
    return step(0);
  }
}
