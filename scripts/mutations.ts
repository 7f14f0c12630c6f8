/**
 * The deliberate breakages of the safety code that `deno task mutants` applies one at a time to
 * a scratch copy of the repository. Each must make at least one of its test files fail; a
 * breakage whose snippet is no longer found fails the run, so drift in the code shows up here.
 *
 * @module
 */

/** One text replacement in one file. */
export interface Edit {
  /** Path relative to the repository root. */
  file: string;
  /** Exact text that must occur exactly once in the file. */
  find: string;
  /** What replaces it. */
  replace: string;
}

/** One breakage and the test files that must catch it. */
export interface Mutation {
  /** Short name shown in the table. */
  id: string;
  /** What the breakage does, in words. */
  description: string;
  /** Applied together. */
  edits: Edit[];
  /** Test files (relative to the repository root) run against the broken copy. */
  tests: string[];
}

const PIPELINE_TESTS = [
  "tests/safety_pipeline_test.ts",
  "tests/safety_attempts_test.ts",
  "tests/safety_units_test.ts",
  "tests/scope_targets_test.ts",
];

/** Every mutation the CI run applies. */
export const MUTATIONS: readonly Mutation[] = [
  {
    id: "confirmation-stage-removed",
    description: "the confirmation stage is not part of the pipeline",
    edits: [{
      file: "src/safety/stages.ts",
      find: "      confirmationStage({\n" +
        "        tokens: opts.tokens,\n" +
        "        elicitation: opts.settings.elicitation,\n" +
        "        approval: {\n" +
        "          policy: opts.settings.approval,\n" +
        "          board: opts.approvals,\n" +
        "          now: () => clock.now(),\n" +
        "        },\n" +
        "      }),\n",
      replace: "",
    }],
    tests: ["tests/safety_pipeline_test.ts", "tests/safety_attempts_test.ts"],
  },
  {
    id: "confirmation-never-asks",
    description: "every change counts as needing no confirmation",
    edits: [{
      file: "src/safety/confirm.ts",
      find: "    if (!reasons.length) {\n",
      replace: "    if (true) {\n",
    }],
    tests: ["tests/safety_pipeline_test.ts", "tests/safety_attempts_test.ts"],
  },
  {
    id: "token-not-spent",
    description: "a confirmation token is never marked as used",
    edits: [{
      file: "src/safety/confirm.ts",
      find: "if (!opts.tokens.spend(check.nonce, check.expiresAt)) {",
      replace: "if (false) {",
    }],
    tests: PIPELINE_TESTS,
  },
  {
    id: "plan-hash-unbound",
    description: "a token stays valid when the plan changed since it was issued",
    edits: [{
      file: "src/safety/tokens.ts",
      find: "    if (payload.p !== planHash) {\n",
      replace: "    if (false) {\n",
    }],
    tests: PIPELINE_TESTS,
  },
  {
    id: "scope-stage-removed",
    description: "the scope stage is not part of the pipeline",
    edits: [{
      file: "src/safety/stages.ts",
      find: "      scopeStage(opts.scope),\n",
      replace: "",
    }],
    tests: [
      "tests/safety_pipeline_test.ts",
      "tests/safety_attempts_test.ts",
      "tests/scope_targets_test.ts",
    ],
  },
  {
    id: "scope-stage-skips-check",
    description: "the scope stage marks every plan as checked without checking it",
    edits: [{
      file: "src/safety/scope.ts",
      find: "      const reasons = scope.checkChange(change, removes);\n",
      replace: "      const reasons: string[] = [];\n",
    }],
    tests: PIPELINE_TESTS,
  },
  {
    id: "scope-problem-allows-all",
    description: "Scope.problem() finds every target in scope",
    edits: [{
      file: "src/safety/scope.ts",
      find: "  problem(t: Target): string | undefined {\n",
      replace: "  problem(t: Target): string | undefined {\n    if (t) return undefined;\n",
    }],
    tests: PIPELINE_TESTS,
  },
  {
    id: "protection-rule-off",
    description: "guests with Proxmox's protection flag can be deleted",
    edits: [{
      file: "src/safety/scope.ts",
      find: "if (removes && removed && t.protection && t.exists) {",
      replace: "if (false) {",
    }],
    tests: PIPELINE_TESTS,
  },
  {
    id: "plan-schema-check-off",
    description: "the plan stage sends requests the official API schema rejects",
    edits: [{
      file: "src/safety/plan.ts",
      find: "    if (!check.ok) {\n",
      replace: "    if (false) {\n",
    }],
    tests: PIPELINE_TESTS,
  },
  {
    id: "csrf-header-not-sent",
    description: "ticket-authenticated writes go out without the CSRFPreventionToken header",
    edits: [{
      file: "src/proxmox/client.ts",
      find: '      if (method !== "GET") headers.CSRFPreventionToken = ticket.csrfToken;\n',
      replace: "",
    }],
    tests: ["tests/client_test.ts"],
  },
  {
    id: "mode-stage-off",
    description: "a read-only server lets changing tools run",
    edits: [{
      file: "src/safety/mode.ts",
      find: "  if (modes.readOnly && !allowedInReadOnly(tool)) {\n",
      replace: "  if (false) {\n",
    }],
    tests: PIPELINE_TESTS,
  },
  {
    id: "audit-not-written",
    description: "the audit stage writes no record",
    edits: [{
      file: "src/safety/audit_stage.ts",
      find: "      await log.append(redactStrings(full));\n",
      replace: "",
    }],
    tests: PIPELINE_TESTS,
  },
  {
    id: "redaction-off",
    description: "secret fields are kept as they are",
    edits: [{
      file: "src/safety/redact.ts",
      find: 'out[k] = isSecretName(k) && v !== "" ? REDACTED : walk(v);',
      replace: "out[k] = walk(v);",
    }],
    tests: PIPELINE_TESTS,
  },
  // Beyond the list of issue 15: the other rules a change must pass.
  {
    id: "rate-limit-off",
    description: "the rate limit neither refuses nor counts changes",
    edits: [{
      file: "src/safety/rate_limit.ts",
      find:
        "      limiter.check(change);\n      call.lastChecks.push(() => limiter.take(change));\n",
      replace: "",
    }],
    tests: ["tests/safety_pipeline_test.ts"],
  },
  {
    id: "executor-skips-checkpoints",
    description: "the executor sends a plan that missed safety stages",
    edits: [{
      file: "src/tools/mutation.ts",
      find: "  if (!change || missing.length) {\n",
      replace: "  if (!change) {\n",
    }],
    tests: ["tests/safety_pipeline_test.ts"],
  },
  {
    id: "token-tool-unbound",
    description: "a token issued for one tool confirms another",
    edits: [{
      file: "src/safety/tokens.ts",
      find: "    if (payload.t !== tool) {\n",
      replace: "    if (false) {\n",
    }],
    tests: PIPELINE_TESTS,
  },
  {
    id: "token-args-unbound",
    description: "a token confirms a call with other arguments",
    edits: [{
      file: "src/safety/tokens.ts",
      find: "    if (payload.a !== argsHash) {\n",
      replace: "    if (false) {\n",
    }],
    tests: PIPELINE_TESTS,
  },
  {
    id: "token-never-expires",
    description: "an expired token still confirms",
    edits: [{
      file: "src/safety/tokens.ts",
      find: "    if (now >= payload.e) {\n",
      replace: "    if (false) {\n",
    }],
    tests: PIPELINE_TESTS,
  },
  {
    id: "declined-elicitation-runs",
    description: "a user who declines (or does not tick confirm) is taken as agreeing",
    edits: [{
      file: "src/safety/confirm.ts",
      find: 'if (answer.action !== "accept" || answer.content?.confirm !== true) {',
      replace: "if (false) {",
    }],
    tests: ["tests/safety_pipeline_test.ts"],
  },
  {
    id: "dry-run-executes",
    description: "dry_run: true runs the change",
    edits: [{
      file: "src/safety/plan.ts",
      find: "    if (call.args.dry_run === true) {\n",
      replace: "    if (false) {\n",
    }],
    tests: ["tests/safety_pipeline_test.ts", "tests/safety_attempts_test.ts"],
  },
  {
    id: "read-only-lists-writers",
    description: "a read-only server lists the tools that change the cluster",
    edits: [{
      file: "src/safety/stages.ts",
      find:
        "    (tool: ToolMeta) => allowedInModes(tool, { readOnly: opts.readOnly, disableDestructive }),\n",
      replace: "    (_tool: ToolMeta) => true,\n",
    }],
    tests: ["tests/safety_pipeline_test.ts", "tests/safety_attempts_test.ts"],
  },
  {
    id: "freeze-off",
    description: "the kill switch no longer stops changes",
    edits: [
      {
        file: "src/safety/freeze.ts",
        find: "    const info = sw.current();\n",
        replace: "    const info = undefined;\n",
      },
      {
        file: "src/safety/freeze.ts",
        find: "      const now = sw.current();\n",
        replace: "      const now = undefined;\n",
      },
    ],
    tests: ["tests/approval_test.ts"],
  },
];
