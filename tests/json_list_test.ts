import assert from "node:assert/strict";
import { DataListReader, NotJsonError } from "../src/proxmox/json_list.ts";

/** A small deterministic random source. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

const AWKWARD = ['"', "\\", "{", "}", "[", "]", ",", ":", " ", "\n", "é", "😀", "data", "\u0001"];

function randomString(r: () => number): string {
  let out = "";
  const n = Math.floor(r() * 8);
  for (let i = 0; i < n; i++) {
    out += r() < 0.5 ? AWKWARD[Math.floor(r() * AWKWARD.length)] : String.fromCharCode(97 + i);
  }
  return out;
}

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 2 ? 4 : 6));
  if (k === 0) return randomString(r);
  if (k === 1) return Math.round(r() * 1e6) / (r() < 0.5 ? 1 : 100) * (r() < 0.2 ? -1 : 1);
  if (k === 2) return [true, false, null][Math.floor(r() * 3)];
  if (k === 3) return 2 ** 40 + Math.floor(r() * 1000);
  if (k === 4) return Array.from({ length: Math.floor(r() * 3) }, () => randomValue(r, depth + 1));
  return Object.fromEntries(
    Array.from({ length: Math.floor(r() * 4) }, (_, i) => [
      `${randomString(r)}${i}`,
      randomValue(r, depth + 1),
    ]),
  );
}

/** Spaces JSON text out with random whitespace between tokens (outside strings). */
function spaced(text: string, r: () => number): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    out += c;
    if (inString) {
      if (c === "\\") out += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if ("{}[],:".includes(c) && r() < 0.3) {
      out += [" ", "\n", "\t", "\r\n  "][Math.floor(r() * 4)];
    }
  }
  return out;
}

/** Reads `text` through a reader in chunks cut by `cuts`; the elements and the rest. */
function read(text: string, chunkSize: (i: number) => number) {
  const elements: unknown[] = [];
  const reader = new DataListReader((e) => elements.push(e));
  let at = 0;
  for (let i = 0; at < text.length; i++) {
    const size = Math.max(1, chunkSize(i));
    reader.push(text.slice(at, at + size));
    at += size;
  }
  return { elements, rest: reader.end() };
}

/** What `JSON.parse` of the whole text says: the data list and the rest, or a failure. */
function oracle(text: string): { elements: unknown[]; rest: unknown } | "fails" {
  let body: unknown;
  try {
    body = text.trim() === "" ? null : JSON.parse(text);
  } catch {
    return "fails";
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { elements: [], rest: body };
  }
  const data = (body as Record<string, unknown>).data;
  if (!Array.isArray(data)) return { elements: [], rest: body };
  return { elements: data, rest: { ...body, data: [] } };
}

function agrees(text: string, chunkSize: (i: number) => number, label: string): void {
  const want = oracle(text);
  let got: ReturnType<typeof read> | "fails";
  try {
    got = read(text, chunkSize);
  } catch (e) {
    if (!(e instanceof NotJsonError)) throw e;
    got = "fails";
  }
  if (want === "fails" || got === "fails") {
    assert.equal(got === "fails", want === "fails", `${label}: ${JSON.stringify(text)}`);
    return;
  }
  assert.deepEqual(got.elements, want.elements, `${label}: ${JSON.stringify(text)}`);
  assert.deepEqual(
    got.rest === null ? null : got.rest,
    want.rest,
    `${label} (rest): ${JSON.stringify(text)}`,
  );
}

Deno.test("DataListReader  reads the data list element by element as JSON.parse would", async (t) => {
  await t.step("answers of every shape, cut into chunks anywhere", () => {
    const r = rng(7);
    for (let n = 0; n < 400; n++) {
      const body: Record<string, unknown> = {};
      if (r() < 0.3) body.success = 1;
      body.data = r() < 0.9
        ? Array.from({ length: Math.floor(r() * 6) }, () => randomValue(r, 1))
        : randomValue(r, 1);
      if (r() < 0.3) body[randomString(r) || "x"] = randomValue(r, 1);
      const text = r() < 0.5 ? JSON.stringify(body) : spaced(JSON.stringify(body), r);
      agrees(text, () => 1, "1-char chunks");
      agrees(text, () => Math.floor(r() * 12), "random chunks");
      agrees(text, () => text.length, "one chunk");
    }
  });

  await t.step("malformed answers fail exactly when JSON.parse fails", () => {
    const r = rng(11);
    for (let n = 0; n < 1500; n++) {
      const body = {
        data: Array.from({ length: 1 + Math.floor(r() * 4) }, () => randomValue(r, 1)),
      };
      let text = JSON.stringify(body);
      // One random edit: drop, duplicate or insert a character.
      const at = Math.floor(r() * text.length);
      const edit = Math.floor(r() * 3);
      const ch = ['"', ",", "]", "}", "[", "{", ":", "x", "1", "\\", " "][Math.floor(r() * 11)];
      text = edit === 0
        ? text.slice(0, at) + text.slice(at + 1)
        : edit === 1
        ? text.slice(0, at) + text[at] + text.slice(at)
        : text.slice(0, at) + ch + text.slice(at);
      agrees(text, () => 1 + Math.floor(r() * 6), "edited");
    }
  });

  await t.step("fixed cases", () => {
    for (
      const text of [
        "",
        "null",
        "[1,2]",
        '{"data":null}',
        '{"data":[]}',
        '{"data":[ ]}',
        '{"data":[1,"a",true,null,{"b":[1,{"c":"]"}]}]}',
        '{"data":[1,]}',
        '{"data":[,1]}',
        '{"data":[1 2]}',
        '{"data":[1],}',
        '{"data":[1]} x',
        '{"data":[{"a":1}',
        '{"x":{"data":[1]},"data":[2]}',
        '{"d\\u0061ta":[1,2]}',
        '{"msg":"data","data":[3]}',
        '{"data":["a\\"b\\\\",{"k\\"":"\\\\"}]}',
      ]
    ) {
      agrees(text, () => 1, "fixed");
      agrees(text, () => 3, "fixed");
    }
  });

  await t.step("a second data key is refused", () => {
    assert.throws(() => read('{"data":[1],"data":[2]}', () => 100), NotJsonError);
  });
});
