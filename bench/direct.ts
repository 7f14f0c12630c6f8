/**
 * The same requests the tools make, sent straight to the API with `fetch`: the baseline the
 * server's overhead is measured against.
 *
 * @module
 */

/** A minimal API client: one pooled HTTPS client, token auth, JSON `data` out. */
export class DirectApi implements Disposable {
  #client: Deno.HttpClient;
  #base: string;
  #auth: string;

  constructor(baseUrl: string, caCert: string, tokenId: string, secret: string) {
    this.#client = Deno.createHttpClient({ caCerts: [caCert] });
    this.#base = `${new URL(baseUrl).origin}/api2/json`;
    this.#auth = `PVEAPIToken=${tokenId}=${secret}`;
  }

  /** GETs `path` (with `query`) and returns the answer's `data`. */
  async get<T = unknown>(path: string, query?: Record<string, string>): Promise<T> {
    const qs = query ? `?${new URLSearchParams(query)}` : "";
    const res = await fetch(`${this.#base}${path}${qs}`, {
      client: this.#client,
      headers: { Authorization: this.#auth, Accept: "application/json" },
    });
    const body = await res.json() as { data: T };
    if (!res.ok) throw new Error(`GET ${path} failed: HTTP ${res.status} ${res.statusText}`);
    return body.data;
  }

  [Symbol.dispose](): void {
    this.#client.close();
  }
}

/** A `/cluster/resources` entry as far as the benchmark looks at it. */
export interface RawResource {
  id: string;
  type: string;
  node?: string;
  vmid?: number;
  status?: string;
  name?: string;
  tags?: string;
}

/**
 * What a client does without the server to answer "guests on `node` with `status`": fetch every
 * guest, filter, sort by VMID and keep one page.
 */
export async function directGuestList(
  api: DirectApi,
  filter: { node: string; status: string },
  limit: number,
): Promise<RawResource[]> {
  const all = await api.get<RawResource[]>("/cluster/resources", { type: "vm" });
  return all
    .filter((r) => r.node === filter.node && r.status === filter.status)
    .sort((a, b) => (a.vmid ?? 0) - (b.vmid ?? 0))
    .slice(0, limit);
}
