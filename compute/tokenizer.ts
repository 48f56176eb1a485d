/**
 * The byte tokenizer: a token is one byte of the UTF-8 encoding, so the
 * vocabulary is 256 ids and any text encodes. Decoding replaces malformed
 * UTF-8 with U+FFFD, as TextDecoder does.
 */
import { ComputeError } from "./errors.ts";

export const BYTE_VOCAB_SIZE = 256;
/**
 * Positions before the start of a text are filled with this token, "\n". The
 * corpus holds one verse per line, so an empty context reads as "a new verse
 * starts here", and the model needs no extra token.
 */
export const PAD_TOKEN = 10;

const encoder = new TextEncoder();

export function encodeText(text: string): Uint8Array {
  return encoder.encode(text);
}

function checkToken(token: number): void {
  if (!Number.isInteger(token) || token < 0 || token >= BYTE_VOCAB_SIZE) {
    throw new ComputeError("BAD_REQUEST", `token id ${token} is not a byte`, { token });
  }
}

export function decodeTokens(tokens: ArrayLike<number>): string {
  const bytes = new Uint8Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    checkToken(token);
    bytes[i] = token;
  }
  return new TextDecoder("utf-8").decode(bytes);
}

/**
 * Decodes a token stream one token at a time. A multi-byte character comes
 * out whole with its last byte; the pieces concatenated equal decodeTokens of
 * the whole stream.
 */
export class TokenStreamDecoder {
  private readonly decoder = new TextDecoder("utf-8");
  /**
   * Whether the decoder holds no partial character and has settled the
   * start-of-stream byte order mark: true after it decoded an ASCII byte.
   * Then the next ASCII byte is its own character, with no TextDecoder call
   * (most tokens of English text).
   */
  private clean = false;
  private readonly streaming = { stream: true };

  push(token: number): string {
    checkToken(token);
    if (token < 0x80) {
      if (this.clean) return String.fromCharCode(token);
      this.clean = true;
    } else {
      this.clean = false;
    }
    return this.decoder.decode(Uint8Array.of(token), this.streaming);
  }

  /** Ends the stream; returns U+FFFD if it stopped inside a character. */
  flush(): string {
    this.clean = false;
    return this.decoder.decode();
  }
}

/** The last `length` tokens of `tokens`, left-padded with PAD_TOKEN when there are fewer. */
export function contextWindow(
  tokens: ArrayLike<number>,
  end: number,
  length: number,
  into: Int32Array,
  offset = 0,
): void {
  for (let i = 0; i < length; i++) {
    const position = end - length + i;
    into[offset + i] = position >= 0 ? tokens[position]! : PAD_TOKEN;
  }
}
