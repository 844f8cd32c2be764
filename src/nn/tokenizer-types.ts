/** The tokenizer interface, apart so that tokenizer.ts and tokenizer-json.ts both import it without a cycle. */

/** Serializable description stored in a checkpoint's config.json. */
export type TokenizerSpec = { type: 'byte' } | { type: 'bpe'; file: string };

export interface Tokenizer {
  readonly vocabSize: number;
  readonly bos: number;
  readonly eos: number;
  readonly pad: number;
  /** Text → token ids (no BOS/EOS added). */
  encode(text: string): number[];
  /**
   * Token ids → text; special tokens are dropped, invalid UTF-8 becomes U+FFFD. `cutTail`: the ids
   * were cut off (a sample that hit its length limit), so a UTF-8 sequence left incomplete at the
   * very end is dropped instead of becoming U+FFFD.
   */
  decode(ids: ArrayLike<number>, cutTail?: boolean): string;
  readonly spec: TokenizerSpec;
}
