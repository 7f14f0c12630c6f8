import assert from "node:assert/strict";
import { ProxmoxClient } from "../src/proxmox/client.ts";
import { ProxmoxConnectionError, ProxmoxTimeoutError } from "../src/proxmox/errors.ts";
import { chooseTls } from "../src/proxmox/tls_mode.ts";
import { inspectCertificate, nodeTlsTransport, parseResponse } from "../src/proxmox/tls_pin.ts";
import { otherCaCert, type Simulator, startSimulator } from "../src/simulator/mod.ts";

const WRONG_PIN = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:" +
  "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";

function tokenClient(
  sim: Simulator,
  extra: Partial<ConstructorParameters<typeof ProxmoxClient>[0]>,
) {
  const { tokenId, tokenSecret } = sim.credentials.admin;
  return new ProxmoxClient({
    baseUrl: sim.url,
    auth: { type: "token", tokenId, secret: tokenSecret },
    retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
    ...extra,
  });
}

async function version(client: ProxmoxClient): Promise<string> {
  try {
    return (await client.get<{ version: string }>("/version")).version;
  } finally {
    client.close();
  }
}

Deno.test("TLS to the simulator  CA trust, pinning, verify_ssl false", async (t) => {
  await using sim = await startSimulator();

  await t.step("the cluster CA is trusted through fetch with caCerts", async () => {
    assert.match(await version(tokenClient(sim, { caCerts: [sim.caCert] })), /^\d+\.\d+/);
  });

  await t.step("an unrelated CA is refused before any request is answered", async () => {
    const before = sim.requests;
    await assert.rejects(
      version(tokenClient(sim, { caCerts: [otherCaCert] })),
      (e) => e instanceof ProxmoxConnectionError && e.kind === "tls",
    );
    assert.equal(sim.requests, before);
  });

  await t.step("a matching pin connects (no CA configured)", async () => {
    const choice = chooseTls({ verify_ssl: true, fingerprint: sim.fingerprint });
    assert.equal(choice.mode, "pin");
    assert.match(await version(tokenClient(sim, { transport: choice.transport })), /^\d+\.\d+/);
  });

  await t.step("a pin mismatch aborts before the request reaches the server", async () => {
    const before = sim.requests;
    const transport = nodeTlsTransport({ kind: "pin", fingerprint: WRONG_PIN });
    await assert.rejects(version(tokenClient(sim, { transport })), (e) => {
      assert.ok(e instanceof ProxmoxConnectionError);
      assert.equal(e.kind, "tls");
      assert.match(e.message, new RegExp(`fingerprint ${sim.fingerprint} does not match`));
      assert.match(e.message, /update fingerprint/);
      assert.doesNotMatch(e.message, new RegExp(sim.credentials.admin.tokenSecret));
      return true;
    });
    assert.equal(sim.requests, before, "no request may reach the simulator");
  });

  await t.step("verify_ssl false connects without any trust anchor", async () => {
    const choice = chooseTls({ verify_ssl: false });
    assert.equal(choice.mode, "insecure");
    assert.match(choice.description, /NOT verified/);
    assert.match(await version(tokenClient(sim, { transport: choice.transport })), /^\d+\.\d+/);
  });

  await t.step("fingerprint wins over ca_file, ca_file over verify_ssl false", () => {
    assert.equal(
      chooseTls({ verify_ssl: false, ca_file: "/x.pem", fingerprint: sim.fingerprint }).mode,
      "pin",
    );
    assert.equal(chooseTls({ verify_ssl: false, ca_file: "/x.pem" }).mode, "ca");
    assert.equal(chooseTls({ verify_ssl: true }).mode, "system");
  });

  await t.step("the pinned transport sends forms: ticket login and a POST", async () => {
    const { username, realm, password } = sim.credentials.admin;
    const client = new ProxmoxClient({
      baseUrl: sim.url,
      auth: { type: "ticket", username: `${username}@${realm}`, password },
      transport: nodeTlsTransport({ kind: "pin", fingerprint: sim.fingerprint }),
    });
    try {
      const nodes = await client.get<{ node: string }[]>("/nodes");
      assert.ok(nodes.length >= 1);
      await assert.rejects(
        client.post(`/nodes/${nodes[0].node}/qemu`, { vmid: 1 }),
        /vmid/,
      );
    } finally {
      client.close();
    }
  });

  await t.step("the client timeout aborts a slow answer on the pinned transport", async () => {
    sim.faults.latencyMs = 2000;
    try {
      const transport = nodeTlsTransport({ kind: "pin", fingerprint: sim.fingerprint });
      await assert.rejects(
        version(tokenClient(sim, { transport, timeoutMs: 200 })),
        ProxmoxTimeoutError,
      );
    } finally {
      sim.faults.latencyMs = 0;
    }
  });

  await t.step("inspectCertificate reports fingerprint, issuer and subject", async () => {
    const cert = await inspectCertificate(sim.hostname, sim.port);
    assert.equal(cert.fingerprint256, sim.fingerprint);
    assert.match(cert.issuer, /CN=proxmox-mcp simulator test CA/);
    assert.match(cert.subject, /CN=localhost/);
    assert.match(cert.validTo, /2076/);
  });
});

Deno.test("parseResponse()  reads HTTP/1.1 answers", async (t) => {
  const enc = (s: string) => new TextEncoder().encode(s);

  await t.step("content-length: incomplete, then complete", async () => {
    const head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    assert.equal(parseResponse(enc(head + "ab"), false), undefined);
    const res = parseResponse(enc(head + "abcde"), false);
    assert.ok(res instanceof Response);
    assert.equal(await res.text(), "abcde");
  });

  await t.step("chunked, with the reason phrase kept", async () => {
    const text = "HTTP/1.1 500 broken thing\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    assert.equal(parseResponse(enc(text.slice(0, -5)), false), undefined);
    const res = parseResponse(enc(text), false);
    assert.ok(res instanceof Response);
    assert.equal(res.status, 500);
    assert.equal(res.statusText, "broken thing");
    assert.equal(await res.text(), "abcde");
  });

  await t.step("no length: the body ends with the connection", async () => {
    const text = "HTTP/1.1 595 no such node\r\n\r\n{}";
    assert.equal(parseResponse(enc(text), false), undefined);
    const res = parseResponse(enc(text), true);
    assert.ok(res instanceof Response);
    assert.equal(res.status, 595);
    assert.equal(await res.text(), "{}");
  });

  await t.step("garbage is an error", () => {
    assert.ok(parseResponse(enc("SSH-2.0-OpenSSH\r\n\r\n"), true) instanceof Error);
  });
});
