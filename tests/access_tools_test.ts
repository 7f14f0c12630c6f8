import assert from "node:assert/strict";
import { ALL_PRIVILEGES } from "../src/simulator/privileges.ts";
import { expectConfirmed, expectRefused, startMutationStack, text } from "./helpers/mutations.ts";

const CONFIG = { max_mutations_per_minute: 0 };

Deno.test("access changes: users, group members, tokens and ACLs, each confirmed", async (t) => {
  await using s = await startMutationStack({ config: CONFIG });
  const { users, access } = s.sim.state;

  await t.step("user_change create needs a confirmation, then the user exists", async () => {
    const { plan } = await expectConfirmed(s, "user_change", {
      action: "create",
      userid: "alice@pve",
      group: "developers",
      comment: "New developer",
      password: "correct horse battery",
    });
    assert.doesNotMatch(JSON.stringify(plan), /correct horse/);
    assert.equal(users.get("alice@pve")?.comment, "New developer");
    assert.ok(access.groups.get("developers")!.members.has("alice@pve"));
  });

  await t.step("add_group and remove_group keep the other groups", async () => {
    await expectConfirmed(s, "user_change", {
      action: "add_group",
      userid: "alice@pve",
      group: "auditors",
    });
    assert.ok(access.groups.get("auditors")!.members.has("alice@pve"));
    await expectConfirmed(s, "user_change", {
      action: "remove_group",
      userid: "alice@pve",
      group: "developers",
    });
    assert.ok(!access.groups.get("developers")!.members.has("alice@pve"));
    assert.ok(access.groups.get("auditors")!.members.has("alice@pve"));
  });

  await t.step("disable and enable", async () => {
    await expectConfirmed(s, "user_change", { action: "disable", userid: "alice@pve" });
    assert.equal(users.get("alice@pve")?.enable, false);
    await expectConfirmed(s, "user_change", { action: "enable", userid: "alice@pve" });
    assert.equal(users.get("alice@pve")?.enable, true);
  });

  await t.step(
    "token_change create returns the secret once; it is not in the audit log",
    async () => {
      const { done, plan } = await expectConfirmed(s, "token_change", {
        action: "create",
        userid: "alice@pve",
        tokenid: "ci",
      });
      const secret = String(done.token_secret);
      assert.equal(secret, users.get("alice@pve")!.tokens.get("ci")!.secret);
      assert.equal(done.full_tokenid, "alice@pve!ci");
      assert.doesNotMatch(JSON.stringify(plan), new RegExp(secret));
      const audit = s.safety.audit.lines.join("\n");
      assert.match(audit, /token_change/);
      assert.doesNotMatch(audit, new RegExp(secret));
    },
  );

  await t.step("acl_change grant and revoke", async () => {
    await expectConfirmed(s, "acl_change", {
      action: "grant",
      path: "/vms/105",
      role: "PVEVMUser",
      token: "alice@pve!ci",
    });
    assert.ok(access.acl.some((e) => e.ugid === "alice@pve!ci" && e.path === "/vms/105"));
    const { plan } = await expectConfirmed(s, "acl_change", {
      action: "revoke",
      path: "/vms/105",
      role: "PVEVMUser",
      token: "alice@pve!ci",
    });
    assert.match(JSON.stringify(plan), /loses PVEVMUser on \/vms\/105/);
    assert.ok(!access.acl.some((e) => e.ugid === "alice@pve!ci"));
  });

  await t.step("token_change revoke", async () => {
    await expectConfirmed(s, "token_change", {
      action: "revoke",
      userid: "alice@pve",
      tokenid: "ci",
    });
    assert.ok(!users.get("alice@pve")!.tokens.has("ci"));
  });
});

Deno.test("access preflight refuses removing the server's own privileges", async (t) => {
  await using s = await startMutationStack({ config: CONFIG });
  await t.step("revoking the server's own token", async () => {
    await expectRefused(
      s,
      "token_change",
      { action: "revoke", userid: "root@pam", tokenid: "mcp" },
      /token this server uses/,
    );
  });
  await t.step("disabling the server's own user", async () => {
    await expectRefused(
      s,
      "user_change",
      { action: "disable", userid: "root@pam" },
      /this server logs in as/,
    );
  });
  await t.step("revoking an ACL entry of a group the server's user is in", async () => {
    s.sim.state.access.groups.get("admins")!.members.add("root@pam");
    await expectRefused(s, "acl_change", {
      action: "revoke",
      path: "/",
      role: "PVEAdmin",
      group: "admins",
    }, /server's own privileges/);
  });
  await t.step("removing the server's user from a group that grants it privileges", async () => {
    await expectRefused(s, "user_change", {
      action: "remove_group",
      userid: "root@pam",
      group: "admins",
    }, /server's own privileges/);
  });
});

Deno.test("access preflight refuses handing out more privileges than the server has", async (t) => {
  await using s = await startMutationStack({ config: CONFIG });
  // The server's identity (root@pam!mcp) lacks Sys.PowerMgmt; ops@pve has it through PVEAdmin.
  s.sim.state.users.get("root@pam")!.privileges = new Set(
    ALL_PRIVILEGES.filter((p) => p !== "Sys.PowerMgmt"),
  );
  await t.step("a token without privilege separation for a stronger user", async () => {
    const msg = await expectRefused(s, "token_change", {
      action: "create",
      userid: "ops@pve",
      tokenid: "full",
      privsep: false,
    }, /privileges this server does not have/);
    assert.match(msg, /Sys\.PowerMgmt/);
  });
  await t.step("a privilege-separated token is fine", async () => {
    const first = await s.call("token_change", {
      action: "create",
      userid: "ops@pve",
      tokenid: "sep",
    });
    assert.equal(first.structuredContent?.status, "confirmation_required", text(first));
  });
  await t.step("granting a role with a privilege the server lacks", async () => {
    await expectRefused(s, "acl_change", {
      action: "grant",
      path: "/",
      role: "PVESysAdmin",
      user: "dev@pve",
    }, /Sys\.PowerMgmt/);
  });
});

Deno.test("access changes are refused in read-only mode and destructive ones with disable_destructive", async (t) => {
  await t.step("read-only", async () => {
    await using s = await startMutationStack({ readOnly: true, config: CONFIG });
    await expectRefused(
      s,
      "user_change",
      { action: "create", userid: "bob@pve" },
      /read-only|not found|Unknown tool/i,
    );
  });
  await t.step("disable_destructive refuses revoking a token", async () => {
    await using s = await startMutationStack({ disableDestructive: true, config: CONFIG });
    await expectRefused(s, "token_change", {
      action: "revoke",
      userid: "ops@pve",
      tokenid: "automation",
    }, /destructive/);
  });
});
