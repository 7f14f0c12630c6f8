import assert from "node:assert/strict";
import { validateRequest } from "../src/proxmox/api_schema/validate.ts";
import { ProxmoxClient } from "../src/proxmox/client.ts";
import { buildServer } from "../src/server/app.ts";
import { resolveListing } from "../src/server/listing.ts";
import { Client, InMemoryTransport } from "../src/server/sdk_client.ts";
import type { ClusterState } from "../src/simulator/state.ts";
import { startSimulator } from "../src/simulator/mod.ts";
import { catalogue } from "../src/tools/catalogue.ts";
import { silentLogger } from "../src/util/log.ts";
import { RecordingApi } from "./helpers/recording_api.ts";

/** Argument sets that exercise each tool's request paths; every catalogue row needs one. */
function exercises(state: ClusterState): Record<string, Record<string, unknown>[]> {
  const guests = [...state.guests.values()];
  const vm = guests.find((g) => g.type === "qemu")!;
  const ct = guests.find((g) => g.type === "lxc")!;
  const node = [...state.nodes.keys()][0];
  const task = [...state.tasks.values()][0];
  return {
    cluster_status: [{}],
    cluster_resources: [
      {},
      { type: "vm" },
      { type: "node" },
      { type: "storage" },
      { type: "pool" },
      {
        type: "lxc",
        node,
        tag: "prod",
        pool: "prod",
        name: "a",
        status: "running",
      },
    ],
    next_vmid: [{}, { vmid: vm.vmid }, { vmid: 999999999 }],
    node_list: [{}],
    node_status: [{ node }],
    node_network: [{ node }, { node, type: "bridge" }, { node, type: "any_bridge" }, {
      node,
      type: "vlan",
    }],
    node_storage: [{ node }, { node, content: "iso" }, { node, storage: "local" }],
    guest_list: [{}, { node, type: "qemu", status: "stopped", template: true, sort: "mem" }],
    guest_status: [{ vmid: vm.vmid }, { vmid: ct.vmid }, { vmid: vm.vmid, node: vm.node }],
    guest_config: [{ vmid: vm.vmid, pending: true }, { vmid: ct.vmid, pending: true }],
    storage_content: [{ node, storage: "local" }, {
      node,
      storage: "local",
      content: "backup",
      vmid: vm.vmid,
    }],
    task_list: [{}, { node, vmid: vm.vmid, type: "vzdump", user: "root@pam", since: 1 }, {
      node,
      status: "error",
    }],
    task_status: [{ upid: task.upid }],
    task_log: [{ upid: task.upid }, { upid: task.upid, start: 1, limit: 2 }],
    my_permissions: [{}, { path: "/vms" }],
    snapshot_list: [{ vmid: vm.vmid }, { vmid: ct.vmid, node: ct.node }],
    backup_list: [{ vmid: 101 }, { vmid: 101, storage: "nfs-backup" }, { vmid: 999, node }],
    appliance_list: [{}, { node, query: "debian" }],
    api_search: [{ query: "firewall rules vm" }, { query: "/nodes/{node}/qemu", method: "GET" }],
    api_read: [
      { path: `/nodes/${vm.node}/qemu/${vm.vmid}/config` },
      { path: "/cluster/resources", params: { type: "vm" }, fields: ["vmid", "name"] },
    ],
    guest_metrics: [
      { vmid: 107, cf: "MAX", points: true },
      { vmid: 200, timeframe: "hour", series: ["cpu", "netin"], since: "30m" },
      { timeframe: "day", rank_by: "cpu", top: 3, node: "pve2", type: "qemu" },
    ],
    node_metrics: [{}, { node, timeframe: "week", cf: "MAX", points: true }],
    guest_agent_info: [{ vmid: 100 }, { vmid: 102 }, { vmid: 107 }, { vmid: 201 }, { vmid: 203 }],
    guest_console_url: [{ vmid: 100 }, { vmid: 200, viewer: "xtermjs" }],
    ceph_status: [{}, { node }],
    cluster_log: [{}, { since: "2h", severity: "warning", node, grep: "auth" }],
    node_log: [{ node }, { node: "pve3", service: "smartd", since: "1d", until: "1m" }, {
      node,
      since: "1d",
      grep: "pvedaemon",
    }],
    backup_jobs: [{}],
    backup_coverage: [{}, { max_age_hours: 12, only_flagged: false, limit: 5 }],
    replication_status: [{}, { guest: 102 }],
    node_updates: [{}, { node }],
    node_disks: [{}, { node: "pve3" }],
    node_services: [{}, { node }],
    node_certificates: [{}, { node, warn_days: 365 }],
    sdn_list: [{}],
    ha_status: [{}],
    firewall_rules: [{}, { node }, { vmid: 101 }, { vmid: 200, node: "pve1" }],
    access_list: [
      {},
      { kind: "groups" },
      { kind: "roles" },
      { kind: "roles", role: "PVEVMUser" },
      { kind: "acl" },
      { kind: "tokens" },
      { kind: "who_can", privilege: "VM.PowerMgmt", path: "/vms/105" },
    ],
    pool_list: [{}, { poolid: "prod" }],
  };
}

Deno.test("every request the tools send is valid against the official API schema", async () => {
  await using sim = await startSimulator();
  const { tokenId, tokenSecret } = sim.credentials.admin;
  const real = new ProxmoxClient({
    baseUrl: sim.url,
    auth: { type: "token", tokenId, secret: tokenSecret },
    caCerts: [sim.caCert],
  });
  const recorder = new RecordingApi(real);
  const server = buildServer({
    client: recorder,
    description: "recording",
    webUrl: sim.url,
    readOnly: true,
    listing: resolveListing({ toolsets: ["all"], privilege_filter: false }),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  }, silentLogger);
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(b);
  const client = new Client({ name: "contract", version: "1" });
  await client.connect(a);
  try {
    const plan = exercises(sim.state);
    const readOnlyTools = catalogue.filter((t) => t.annotations.readOnlyHint);
    for (const tool of readOnlyTools) {
      const sets = plan[tool.name];
      assert.ok(sets?.length, `tests/api_contract_test.ts exercises ${tool.name}`);
      for (const args of sets) {
        const r = await client.callTool({ name: tool.name, arguments: args });
        assert.ok(!r.isError, `${tool.name} ${JSON.stringify(args)}: ${JSON.stringify(r.content)}`);
      }
    }
    assert.ok(recorder.requests.length > 30);
    for (const req of recorder.requests) {
      const params = Object.fromEntries(
        Object.entries(req.params).filter(([, v]) => v !== undefined),
      ) as Record<string, string | number | boolean | string[]>;
      const check = validateRequest(req.method, req.path, params);
      assert.ok(
        check.ok,
        `${req.method} ${req.path} ${JSON.stringify(params)}: ${JSON.stringify(check)}`,
      );
    }
  } finally {
    await client.close();
    real.close();
  }
});

/** Argument sets that exercise every request the mutating tools can send. */
function mutationExercises(state: ClusterState): Record<string, Record<string, unknown>[]> {
  const backup101 = state.volumes.find((v) => v.vmid === 101 && !v.protected)!.volid;
  const backup202 = state.volumes.find((v) => v.vmid === 202)!.volid;
  const backup100 = state.volumes.find((v) => v.vmid === 100)!.volid;
  return {
    guest_power: [
      { vmid: 100, action: "shutdown", timeout_s: 60, force_stop: true },
      { vmid: 100, action: "start" },
      { vmid: 100, action: "reboot", timeout_s: 30 },
      { vmid: 107, action: "suspend" },
      { vmid: 107, action: "resume" },
      { vmid: 107, action: "reset" },
      { vmid: 104, action: "stop", node: "pve2" },
      { vmid: 201, action: "shutdown", timeout_s: 10 },
      { vmid: 201, action: "start" },
      { vmid: 201, action: "reboot" },
      { vmid: 201, action: "stop" },
    ],
    vm_create: [
      {
        name: "contract-full",
        node: "pve2",
        vmid: 400,
        memory_mib: 1024,
        cores: 2,
        sockets: 2,
        disk_gib: 4,
        storage: "local-lvm",
        bridge: "vmbr1",
        vlan: 100,
        iso: "local:iso/debian-12.7.0-amd64-netinst.iso",
        ostype: "win11",
        user: "ops",
        password: "pa55word",
        ssh_public_keys: "ssh-ed25519 AAAAC3Nza ops@example\nssh-rsa AAAAB3Nza other@example",
        ip: "10.0.0.5/24",
        gw: "10.0.0.1",
        start: true,
        pool: "lab",
        tags: ["lab", "contract"],
        description: "Contract test VM\nwith two lines",
      },
      { name: "contract-min", node: "pve1", vmid: 401, disk_gib: 1, ip: "dhcp" },
    ],
    ct_create: [
      {
        hostname: "contract-ct",
        ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        node: "pve1",
        vmid: 402,
        memory_mib: 256,
        swap_mib: 0,
        cores: 1,
        disk_gib: 2,
        storage: "local-lvm",
        bridge: "vmbr1",
        vlan: 20,
        ip: "10.0.20.5/24",
        gw: "10.0.20.1",
        password: "pa55word",
        ssh_public_keys: "ssh-ed25519 AAAAC3Nza ops@example",
        nesting: true,
        start: true,
        pool: "lab",
        tags: ["lab"],
        description: "Contract CT",
      },
      {
        hostname: "contract-priv",
        ostemplate: "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz",
        node: "pve1",
        vmid: 403,
        unprivileged: false,
      },
    ],
    guest_clone: [
      { vmid: 9000, newid: 404, name: "contract-linked", pool: "lab" },
      { vmid: 9000, newid: 405, full: true, storage: "local-lvm" },
      { vmid: 401, newid: 406, name: "contract-full-clone", storage: "local-lvm" },
      { vmid: 403, newid: 407, name: "contract-ct-clone" },
      { vmid: 103, newid: 408, snapshot: "before-pg16" },
    ],
    guest_template: [{ vmid: 405 }, { vmid: 407 }],
    guest_update: [
      {
        vmid: 401,
        memory_mib: 2048,
        cores: 2,
        sockets: 1,
        name: "contract-renamed",
        tags: ["lab"],
        description: "changed",
        net: { index: 1, bridge: "vmbr1", vlan: 5, firewall: true, model: "e1000" },
      },
      { vmid: 401, net: { index: 0, model: "vmxnet3" }, delete: ["net1"] },
      {
        vmid: 403,
        memory_mib: 512,
        name: "contract-ct2",
        net: { index: 0, ip: "10.1.1.2/24", gw: "10.1.1.1", vlan: 9 },
      },
      { vmid: 401, delete: ["scsi0"] },
      { vmid: 401, delete: ["unused0", "description"] },
    ],
    disk_resize: [
      { vmid: 406, disk: "scsi0", size_gib: 3 },
      { vmid: 403, disk: "rootfs", size_gib: 8.5 },
    ],
    guest_migrate: [
      { vmid: 406, target_node: "pve2" },
      { vmid: 107, target_node: "pve1" },
      { vmid: 202, target_node: "pve1" },
      { vmid: 403, target_node: "pve2", target_storage: "local-lvm" },
    ],
    snapshot: [
      { vmid: 100, action: "create", name: "contract_ram", vmstate: true, description: "with RAM" },
      { vmid: 202, action: "create", name: "contract-ct" },
      { vmid: 100, action: "rollback", name: "contract_ram", start: true },
      { vmid: 202, action: "rollback", name: "contract-ct" },
      { vmid: 100, action: "delete", name: "contract_ram", force: true },
      { vmid: 202, action: "delete", name: "contract-ct" },
      { vmid: 100, action: "create", name: "mcp-undo-20260101-000000" },
    ],
    guest_undo: [{ vmid: 100, start: true }],
    backup_run: [
      {
        vmid: 100,
        storage: "nfs-backup",
        mode: "suspend",
        compress: "gzip",
        notes: "{{guestname}}",
        protected: true,
      },
      { vmid: 202, storage: "local", mode: "stop", compress: "0" },
    ],
    backup_restore: [
      {
        archive: backup101,
        node: "pve1",
        vmid: 409,
        storage: "local-lvm",
        unique: true,
        start: true,
        pool: "lab",
      },
      { archive: backup202, node: "pve1", vmid: 410 },
      { archive: backup101, vmid: 406, force: true },
    ],
    backup_delete: [{ archive: backup101 }, { archive: backup100, node: "pve1" }],
    storage_download: [
      {
        storage: "local",
        node: "pve2",
        url: "https://cdimage.example.org/x.iso",
        filename: "x.iso",
        checksum: "b".repeat(128),
        checksum_algorithm: "sha512",
      },
      {
        storage: "local",
        node: "pve2",
        content: "vztmpl",
        template: "alpine-3.20-default_20240908_amd64.tar.xz",
      },
    ],
    guest_delete: [
      { vmid: 404, purge: true, destroy_unreferenced_disks: true },
      { vmid: 410 },
    ],
    task_stop: [],
    ...adminExercises(state),
  };
}

/** Exercises of the firewall, access, exec, unlock and bulk tools. */
function adminExercises(state: ClusterState): Record<string, Record<string, unknown>[]> {
  state.guests.get(106)!.config.lock = "backup";
  state.storages.get("local")!.content.push("images");
  return {
    firewall_rule: [
      {
        level: "cluster",
        action: "add",
        rule: { action: "ACCEPT", macro: "HTTPS", source: "dc/admin_net" },
      },
      {
        level: "node",
        node: "pve2",
        action: "add",
        rule: { action: "ACCEPT", proto: "tcp", dport: "9100" },
      },
      { level: "guest", vmid: 102, action: "add", rule: { type: "group", action: "webserver" } },
      { level: "cluster", action: "move", pos: 0, moveto: 2 },
      { level: "cluster", action: "update", pos: 0, rule: { comment: "checked" } },
      { level: "group", group: "webserver", action: "delete", pos: 1 },
    ],
    firewall_options: [
      { level: "guest", vmid: 102, enable: true, policy_in: "DROP" },
      { level: "cluster", policy_out: "ACCEPT" },
      { level: "node", node: "pve3", enable: true },
    ],
    firewall_set: [
      { level: "cluster", kind: "alias", action: "add", name: "jump", cidr: "192.168.10.9" },
      {
        level: "cluster",
        kind: "alias",
        action: "update",
        name: "jump",
        cidr: "192.168.10.8",
        rename: "jumphost",
      },
      { level: "cluster", kind: "ipset", action: "create", name: "office" },
      { level: "cluster", kind: "ipset", action: "add", name: "office", cidr: "10.1.0.0/16" },
      {
        level: "guest",
        vmid: 101,
        kind: "ipset",
        action: "remove",
        name: "ipfilter-net0",
        cidr: "192.168.10.101",
      },
      { level: "cluster", kind: "ipset", action: "delete", name: "office" },
    ],
    user_change: [
      { action: "create", userid: "carol@pve", group: "developers", email: "carol@example.com" },
      { action: "add_group", userid: "carol@pve", group: "auditors" },
      { action: "remove_group", userid: "carol@pve", group: "developers" },
      { action: "remove_group", userid: "carol@pve", group: "auditors" },
      { action: "update", userid: "carol@pve", comment: "Contractor" },
      { action: "disable", userid: "carol@pve" },
    ],
    token_change: [
      { action: "create", userid: "carol@pve", tokenid: "ci" },
      { action: "revoke", userid: "carol@pve", tokenid: "ci" },
    ],
    acl_change: [
      { action: "grant", path: "/vms/105", role: "PVEVMUser", user: "carol@pve" },
      { action: "grant", path: "/pool/lab", role: "PVEAuditor", token: "ops@pve!automation" },
      { action: "revoke", path: "/vms/105", role: "PVEVMUser", user: "carol@pve" },
    ],
    guest_unlock: [{ vmid: 106 }],
    bulk_power: [{ action: "start", vmids: [211], concurrency: 1 }],
    guest_exec: [{ vmid: 100, command: ["hostname"] }],
    network_change: [
      {
        node: "pve3",
        action: "create",
        iface: "vmbr2",
        type: "bridge",
        ports: ["eno2.40"],
        cidr: "10.40.0.3/24",
        vlan_aware: true,
      },
      {
        node: "pve3",
        action: "create",
        iface: "vlan50",
        type: "vlan",
        vlan_id: 50,
        vlan_device: "vmbr1",
      },
      { node: "pve3", action: "update", iface: "vmbr2", comments: "storage", mtu: 9000 },
      { node: "pve3", action: "delete", iface: "vlan50" },
      { node: "pve3", action: "apply" },
      { node: "pve3", action: "create", iface: "vmbr3", type: "bridge" },
      { node: "pve3", action: "revert" },
    ],
    ha_change: [
      { action: "add", vmid: 104, state: "started", comment: "monitoring" },
      { action: "set_state", vmid: 104, state: "stopped" },
      { action: "migrate", vmid: 104, target_node: "pve3" },
      {
        action: "rule_add",
        rule: "mon",
        rule_type: "node-affinity",
        members: [104],
        nodes: ["pve3:2"],
        strict: true,
      },
      { action: "rule_remove", rule: "mon" },
      { action: "relocate", vmid: 104, target_node: "pve2" },
      { action: "remove", vmid: 104 },
    ],
    pool_change: [
      { action: "create", pool: "web", comment: "Web tier" },
      { action: "add", pool: "web", vmids: [100], storages: ["local"] },
      { action: "remove", pool: "web", vmids: [100], storages: ["local"] },
      { action: "delete", pool: "web" },
    ],
    guest_hardware: [
      { vmid: 100, action: "disk_add", storage: "local-lvm", size_gib: 4 },
      { vmid: 100, action: "cdrom", iso: "local:iso/debian-12.7.0-amd64-netinst.iso" },
      { vmid: 100, action: "boot_order", order: ["scsi0", "ide2"] },
      { vmid: 100, action: "onboot", enabled: true },
      { vmid: 100, action: "cpu_type", cpu: "host" },
      { vmid: 105, action: "disk_move", disk: "scsi0", storage: "local", delete_source: true },
      { vmid: 105, action: "disk_detach", disk: "scsi0" },
    ],
    api_change: [
      { method: "POST", path: "/nodes/pve1/qemu/100/snapshot", params: { snapname: "contract" } },
      { method: "PUT", path: "/nodes/pve1/qemu/100/config", params: { description: "contract" } },
    ],
  };
}

Deno.test("every request the mutating tools send is valid against the official API schema", async () => {
  const { startMutationStack } = await import("./helpers/mutations.ts");
  await using s = await startMutationStack({
    config: {
      protected_tags: [],
      max_mutations_per_minute: 0,
      max_creations: 0,
      exec_allowlist: ["hostname"],
    },
  });
  const plan = mutationExercises(s.sim.state);
  const writers = catalogue.filter((t) => !t.annotations.readOnlyHint);
  for (const tool of writers) {
    assert.ok(plan[tool.name], `tests/api_contract_test.ts exercises ${tool.name}`);
  }
  const planned: { method: string; path: string; params: Record<string, unknown> }[] = [];
  for (const [name, sets] of Object.entries(plan)) {
    const tool = catalogue.find((t) => t.name === name)!;
    for (const args of sets) {
      if (tool.name === "guest_delete" || tool.name === "guest_template") {
        const g = s.sim.state.guests.get(args.vmid as number);
        if (g) g.status = "stopped";
      }
      const dry = await s.call(tool.name, { ...args, dry_run: true });
      assert.ok(
        !dry.isError,
        `${tool.name} dry run ${JSON.stringify(args)}: ${JSON.stringify(dry.content)}`,
      );
      planned.push(...((dry.structuredContent?.plan as { requests: typeof planned }).requests));
      let r = await s.call(tool.name, args);
      if (r.structuredContent?.status === "confirmation_required") {
        r = await s.call(tool.name, {
          ...args,
          confirmation_token: r.structuredContent.confirmation_token,
        });
      }
      assert.ok(!r.isError, `${tool.name} ${JSON.stringify(args)}: ${JSON.stringify(r.content)}`);
    }
  }
  {
    await using slow = await startMutationStack({ simulator: { taskDurationMs: 60_000 } });
    const started = await slow.call("backup_run", {
      vmid: 106,
      storage: "nfs-backup",
      wait: false,
    });
    const r = await slow.call("task_stop", { upid: started.structuredContent?.upid });
    assert.ok(!r.isError, JSON.stringify(r.content));
    s.recorder.requests.push(...slow.recorder.requests);
  }
  const writes = s.recorder.requests.filter((r) => r.method !== "GET");
  assert.ok(writes.length >= 50, `${writes.length} writes`);
  const check = (method: string, path: string, raw: Record<string, unknown>) => {
    const params = Object.fromEntries(
      Object.entries(raw).filter(([, v]) => v !== undefined),
    ) as Record<string, string | number | boolean | string[]>;
    const result = validateRequest(method, path, params);
    assert.ok(result.ok, `${method} ${path} ${JSON.stringify(params)}: ${JSON.stringify(result)}`);
  };
  for (const req of s.recorder.requests) check(req.method, req.path, req.params);
  for (const req of planned) check(req.method, req.path, req.params);
});
