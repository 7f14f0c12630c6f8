/**
 * Reads the `data` list of a Proxmox answer (`{"data":[...]}`) as the body arrives, one element
 * at a time: each element is parsed on its own (`JSON.parse` of its text), so a 3 MB
 * `/cluster/resources` answer is never held as one string nor as one tree of raw objects, and
 * the work is spread over the body's chunks instead of one long pause of the event loop.
 *
 * Strict like `JSON.parse` of the whole body: every element must be JSON, elements must be
 * separated by single commas, and everything around the list (the rest of the answer, with the
 * list emptied) is parsed at the end, so any malformed answer is refused.
 *
 * @module
 */

/** An answer that is not JSON. */
export class NotJsonError extends Error {
  constructor(detail: string) {
    super(`the answer is not JSON: ${detail}`);
    this.name = "NotJsonError";
  }
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Where the reader is relative to the `data` list. */
const enum Phase {
  /** Before the list (or in an answer whose `data` is not a list). */
  Before,
  /** Inside the list, between elements: an element or `]` may follow. */
  ListStart,
  /** Inside the list, after an element: `,` or `]` may follow. */
  AfterElement,
  /** Inside the list, after a `,`: an element must follow. */
  AfterComma,
  /** Inside an element. */
  Element,
  /** After the list. */
  After,
}

/**
 * Feeds text chunks of an answer with {@link push}, then {@link end}; calls `each` with every
 * parsed element of the top-level `data` list, in order.
 */
export class DataListReader {
  #each: (element: unknown) => void;
  /** Nesting depth of objects and lists at the current position (the answer object is 1). */
  #depth = 0;
  #inString = false;
  /** The previous character inside a string was an unescaped backslash. */
  #escaped = false;
  #phase = Phase.Before;
  /** Text of the answer outside the list's elements (parsed at the end to check it). */
  #outside: string[] = [];
  /** Text of the current element from earlier chunks. */
  #pending = "";
  /** Whether the current element is a scalar (ends at `,`, `]` or a space). */
  #scalar = false;
  /** The last string seen at depth 1, and whether a `:` followed it (so a value starts). */
  #key = "";
  #keyText: string[] = [];
  #afterKey = false;
  #found = false;

  constructor(each: (element: unknown) => void) {
    this.#each = each;
  }

  /** Reads the next piece of the answer's text. */
  push(chunk: string): void {
    let from = 0; // start of text not yet copied to #outside or #pending
    let start = -1; // start of the current element in this chunk
    if (this.#phase === Phase.Element) start = 0;
    const n = chunk.length;
    // Position of the next backslash at or after the current one (n: none), found once per
    // backslash rather than once per string.
    let backslash = -1;
    for (let i = 0; i < n; i++) {
      if (this.#inString) {
        // Jump to the next quote; whether it ends the string depends on a backslash before it.
        if (this.#escaped) {
          this.#escaped = false;
          continue;
        }
        if (backslash < i) {
          backslash = chunk.indexOf("\\", i);
          if (backslash === -1) backslash = n;
        }
        let q = chunk.indexOf('"', i);
        if (q === -1) q = n;
        if (backslash < q) {
          // An escape: skip the backslash and the character after it.
          this.#keyPart(chunk, i, Math.min(backslash + 2, n));
          if (backslash === n - 1) this.#escaped = true;
          i = backslash + 1;
          continue;
        }
        if (q === n) {
          this.#keyPart(chunk, i, n);
          break;
        }
        this.#keyPart(chunk, i, q);
        this.#inString = false;
        i = q;
        if (this.#phase === Phase.Element) {
          if (this.#scalar && this.#depth === 2) {
            // A string element ends with its quote.
            this.#emit(chunk, start, i + 1);
            start = -1;
          }
        } else if (this.#depth === 1) {
          this.#key = this.#keyText.join("");
          this.#keyText = [];
        }
        continue;
      }
      const c = chunk.charCodeAt(i);
      const phase = this.#phase;
      if (phase === Phase.Element) {
        if (this.#scalar && this.#depth === 2) {
          if (c === COMMA || c === CLOSE_BRACKET || isSpace(c)) {
            this.#emit(chunk, start, i);
            start = -1;
            from = i;
            i--; // read the separator again, between elements
          } else if (c === QUOTE) this.#inString = true;
          continue;
        }
        if (c === QUOTE) this.#inString = true;
        else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.#depth++;
        else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
          if (--this.#depth === 2) {
            this.#emit(chunk, start, i + 1);
            start = -1;
            from = i + 1;
          }
        }
        continue;
      }
      if (phase === Phase.ListStart || phase === Phase.AfterElement || phase === Phase.AfterComma) {
        if (isSpace(c)) continue;
        if (c === CLOSE_BRACKET && phase !== Phase.AfterComma) {
          this.#depth--;
          this.#phase = Phase.After;
          from = i; // the `]` closes the (now empty) list in #outside
          continue;
        }
        if (c === COMMA && phase === Phase.AfterElement) {
          this.#phase = Phase.AfterComma;
          from = i + 1;
          continue;
        }
        if (phase === Phase.AfterElement || c === COMMA || c === CLOSE_BRACKET) {
          throw new NotJsonError(`unexpected ${JSON.stringify(chunk[i])} in the data list`);
        }
        // An element starts.
        this.#phase = Phase.Element;
        start = i;
        from = i;
        this.#scalar = c !== OPEN_BRACE && c !== OPEN_BRACKET;
        if (c === QUOTE) this.#inString = true;
        else if (!this.#scalar) this.#depth++;
        continue;
      }
      // Outside the list: track depth, keys at depth 1, and where `data`'s value starts.
      if (c === QUOTE) {
        this.#inString = true;
        if (this.#depth === 1) {
          this.#keyText = [];
          this.#afterKey = false;
        }
      } else if (c === COLON) {
        if (this.#depth === 1) this.#afterKey = true;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        this.#depth++;
        if (
          c === OPEN_BRACKET && this.#depth === 2 && this.#afterKey && this.#key === "data" &&
          !this.#found && phase === Phase.Before
        ) {
          this.#found = true;
          this.#phase = Phase.ListStart;
          this.#outside.push(chunk.slice(from, i + 1));
          from = i + 1;
        }
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        this.#depth--;
      } else if (c === COMMA && this.#depth === 1) {
        this.#afterKey = false;
      }
    }
    if (this.#phase === Phase.Element) {
      this.#pending += chunk.slice(start === -1 ? from : start);
    } else if (
      this.#phase === Phase.Before || this.#phase === Phase.After
    ) {
      this.#outside.push(chunk.slice(from));
    }
  }

  /**
   * Checks the rest of the answer and returns it parsed, its data list emptied (null for an
   * empty answer). An answer whose list was not recognised while reading (a key written with
   * escapes) has its elements handed to `each` now.
   */
  end(): unknown {
    if (this.#phase !== Phase.Before && this.#phase !== Phase.After) {
      throw new NotJsonError("it ends inside the data list");
    }
    const outside = this.#outside.join("");
    this.#outside = [];
    if (outside.trim() === "") return null;
    let body: unknown;
    try {
      body = JSON.parse(outside);
    } catch (e) {
      throw new NotJsonError(e instanceof Error ? e.message : String(e));
    }
    const data = typeof body === "object" && body !== null && !Array.isArray(body)
      ? (body as Record<string, unknown>).data
      : undefined;
    if (this.#found) {
      // A second "data" key would have replaced the list for JSON.parse: refuse it.
      if (!Array.isArray(data) || data.length) throw new NotJsonError("data is given twice");
    } else if (Array.isArray(data)) {
      (body as Record<string, unknown>).data = [];
      for (const element of data) this.#each(element);
    }
    return body;
  }

  /** Collects the text of a string at depth 1 (a key, or a value there) outside the list. */
  #keyPart(chunk: string, from: number, to: number): void {
    if (this.#depth === 1 && this.#phase !== Phase.Element) {
      this.#keyText.push(chunk.slice(from, to));
    }
  }

  /** Parses the element `chunk[start, end)` (after any pending text) and hands it on. */
  #emit(chunk: string, start: number, end: number): void {
    const text = this.#pending + chunk.slice(start, end);
    this.#pending = "";
    this.#phase = Phase.AfterElement;
    let element: unknown;
    try {
      element = JSON.parse(text);
    } catch (e) {
      throw new NotJsonError(e instanceof Error ? e.message : String(e));
    }
    this.#each(element);
  }
}
