// JSON string escaping of UTF-8 bytes straight from the request body, in WebAssembly (SIMD, 16
// bytes at a time). `JSON.stringify` escapes a string at about 1 ns per character on this kind
// of machine; message content is most of a row's bytes, so the ingest path writes content that
// arrived as valid UTF-8 from those bytes instead (about 4× less CPU, see `pipeline.ts`).
//
// For valid UTF-8 the result is byte for byte the UTF-8 of what `JSON.stringify` writes for the
// decoded string: it escapes only the quote, the backslash, U+0000–U+001F (as \b \t \n \f \r or \u00xx, lowercase)
// and lone surrogates, which valid UTF-8 cannot encode; every other byte is copied.
//
// The module is `json-escape.wat` (next to this file) assembled with wabt 1.0.39
// (`wat2wasm --enable-simd`); its bytes are below. Where WebAssembly SIMD is not available,
// `jsonEscaper` is null and rows are written with `JSON.stringify` alone.

const MODULE_BASE64 =
  'AGFzbQEAAAABDgJgA39/fwF/YAJ/fwF/AwMCAAEFAwEAAQcTAgZtZW1vcnkCAAZlc2NhcGUAAArTAwLWAQIDfwF7IAAgAWohAwJAA0AgAEEQaiADSw0BIAD9AAAAIQYgAiAG/QsAACAG/QwgICAgICAgICAgICAgICAg/SYgBv0MIiIiIiIiIiIiIiIiIiIiIv0j/VAgBv0MXFxcXFxcXFxcXFxcXFxcXP0j/VD9ZCEFIAVFBEAgAkEQaiECIABBEGohAAUgBWghBCACIARqIQIgACAEaiEAIAAtAAAgAhABIQIgAEEBaiEACwwACwsCQANAIAAgA08NASAALQAAIAIQASECIABBAWohAAwACwsgAgv4AQEBfyAAQSBPBEAgAEEiRiAAQdwARnIEQCABQdwAOgAAIAEgADoAASABQQJqDwsgASAAOgAAIAFBAWoPCyABQdwAOgAAIABBCEYEQCABQeIAOgABIAFBAmoPCyAAQQlGBEAgAUH0ADoAASABQQJqDwsgAEEKRgRAIAFB7gA6AAEgAUECag8LIABBDEYEQCABQeYAOgABIAFBAmoPCyAAQQ1GBEAgAUHyADoAASABQQJqDwsgAEEPcSECIAFB9QA6AAEgAUEwOgACIAFBMDoAAyABQTAgAEEEdmo6AAQgAUEwIAJqQdcAIAJqIAJBCkkbOgAFIAFBBmoL'

const PAGE_BYTES = 65_536

// The parts of the WebAssembly API used here (Node's types leave it to the DOM library).
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object) => { exports: unknown }
}

interface EscapeExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number }
  escape(src: number, length: number, dst: number): number
}

/**
 * The module and its memory. The ingest path writes a request's rows into the memory and copies
 * each row's content bytes in front of them, so content is escaped straight into its row
 * (`RowBuffer` in `pipeline.ts`).
 */
export class JsonEscaper {
  /** The module's memory (a new view after each growth: re-read it after `reserve`). */
  view: Buffer

  private constructor(private readonly exports: EscapeExports) {
    this.view = Buffer.from(exports.memory.buffer)
  }

  static create(): JsonEscaper | null {
    try {
      const module = new WebAssembly.Module(Buffer.from(MODULE_BASE64, 'base64'))
      const instance = new WebAssembly.Instance(module)
      const escaper = new JsonEscaper(instance.exports as unknown as EscapeExports)
      // Checked once against JSON.stringify: a module that does not behave is not used.
      const text = 'q"b\\ \n\t\r\b\f\u0001\u001f\u007f é 😀 plain text long enough for a block'
      const sample = Buffer.from(text)
      sample.copy(escaper.view, 0)
      const end = escaper.escape(0, sample.length, 256)
      return `"${escaper.view.toString('utf8', 256, end)}"` === JSON.stringify(text) ? escaper : null
    } catch {
      return null
    }
  }

  /** Make the memory at least `bytes` long (`view` is replaced when it grows). */
  reserve(bytes: number): void {
    if (this.view.length >= bytes) return
    this.exports.memory.grow(Math.ceil((bytes - this.view.length) / PAGE_BYTES))
    this.view = Buffer.from(this.exports.memory.buffer)
  }

  /**
   * Write memory bytes [`src`, `src + length`) at `dst` escaped as the inside of a JSON string;
   * returns where they end. Needs `6 * length + 16` bytes of room at `dst`.
   */
  escape(src: number, length: number, dst: number): number {
    return this.exports.escape(src, length, dst)
  }
}

/** The process's escaper, or null where the module cannot run. */
export const jsonEscaper: JsonEscaper | null = JsonEscaper.create()
