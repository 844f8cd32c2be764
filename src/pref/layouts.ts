/**
 * Row layouts of public preference files and TRL's rules for each (docs/pref-data.md §1):
 *   standard        {"prompt": str, "chosen": str, "rejected": str}
 *   conversational  {"prompt"?: messages, "chosen": messages, "rejected": messages}
 *                   (no prompt: the shared leading messages, TRL's `extract_prompt`)
 *   implicit        {"chosen": str, "rejected": str}: the prompt is the shared prefix (TRL's rule)
 *   hh-rlhf         Anthropic HH-RLHF: "\n\nHuman: …\n\nAssistant: …" strings; the prompt is
 *                   everything up to and including the last "\n\nAssistant:"
 *   ultrafeedback   H4 UltraFeedback-binarized: string prompt + message lists (TRL's
 *                   `maybe_extract_prompt` takes the shared leading messages as the prompt);
 *                   prompt_id / messages ignored, score_chosen / score_rejected kept
 */

export type PairLayout = 'standard' | 'conversational' | 'implicit' | 'hh-rlhf' | 'ultrafeedback';

export const PAIR_LAYOUTS: readonly PairLayout[] = [
  'standard',
  'conversational',
  'implicit',
  'hh-rlhf',
  'ultrafeedback',
];

/** One line per layout, for "unknown layout" errors and `--help`. */
export const LAYOUT_HELP: Record<PairLayout, string> = {
  standard: '{"prompt": string, "chosen": string, "rejected": string}',
  conversational:
    '{"prompt"?: [messages], "chosen": [messages], "rejected": [messages]} (no prompt: the shared leading messages)',
  implicit: '{"chosen": string, "rejected": string} (prompt = their shared prefix, as TRL)',
  'hh-rlhf': '{"chosen": "\\n\\nHuman: …\\n\\nAssistant: …", "rejected": …} (Anthropic HH-RLHF)',
  ultrafeedback:
    '{"prompt": string, "chosen": [messages], "rejected": [messages], "prompt_id"?, "messages"?, "score_chosen"?, "score_rejected"?} (H4 UltraFeedback-binarized)',
};

export const HH_HUMAN = '\n\nHuman:';
export const HH_ASSISTANT = '\n\nAssistant:';

/** The accepted layouts, one per line, for error messages. */
export function acceptedLayouts(): string {
  return PAIR_LAYOUTS.map((l) => `  ${l}: ${LAYOUT_HELP[l]}`).join('\n');
}

const isMessages = (v: unknown): boolean => Array.isArray(v) && v.length > 0 && typeof v[0] === 'object';

/**
 * The layout of one row by the types of prompt/chosen/rejected, or null when none fits. A file's
 * layout is the layout of its first row (every other row must then parse under it).
 */
export function detectLayout(row: Record<string, unknown>): PairLayout | null {
  const { prompt, chosen, rejected } = row;
  if (typeof chosen === 'string' && typeof rejected === 'string') {
    if (typeof prompt === 'string') return 'standard';
    if (prompt !== undefined) return null;
    return chosen.startsWith(HH_HUMAN) && chosen.includes(HH_ASSISTANT) ? 'hh-rlhf' : 'implicit';
  }
  if (isMessages(chosen) && isMessages(rejected)) {
    if (typeof prompt === 'string') return 'ultrafeedback';
    if (prompt === undefined || isMessages(prompt)) return 'conversational';
  }
  return null;
}

/**
 * TRL's `extract_prompt` on strings, exactly: walk both strings to the first differing character;
 * if the character before it is a space, the space goes to the completions. Characters are Unicode
 * code points (as Python's). When one string is a prefix of the other, TRL's loop ends without
 * `break` and keeps the last index (min length − 1), so the prompt stops one character short; we
 * match that. Returns null when the first characters already differ (no shared prefix; TRL would
 * then index chosen[-1], which we do not copy).
 */
export function extractStringPrompt(
  chosen: string,
  rejected: string,
): { prompt: string; chosen: string; rejected: string } | null {
  const c = Array.from(chosen);
  const r = Array.from(rejected);
  const n = Math.min(c.length, r.length);
  if (n === 0) return null;
  let idx = 0;
  let broke = false;
  for (idx = 0; idx < n; idx++) {
    if (c[idx] !== r[idx]) {
      broke = true;
      break;
    }
  }
  if (broke) {
    if (idx === 0) return null;
    if (c[idx - 1] === ' ') idx -= 1;
  } else idx = n - 1;
  if (idx <= 0) return null;
  return {
    prompt: c.slice(0, idx).join(''),
    chosen: c.slice(idx).join(''),
    rejected: r.slice(idx).join(''),
  };
}

/**
 * Anthropic HH-RLHF: prompt = `chosen` up to and including its last "\n\nAssistant:"; `rejected`
 * must start with the same prompt. The responses keep their leading space (as TRL's completions).
 * Returns an error message (naming the field) instead of throwing.
 */
export function splitHh(
  chosen: string,
  rejected: string,
): { prompt: string; chosen: string; rejected: string } | { field: string; error: string } {
  const at = chosen.lastIndexOf(HH_ASSISTANT);
  if (at < 0) return { field: 'chosen', error: 'expected a "\\n\\nAssistant:" turn (HH-RLHF layout)' };
  const prompt = chosen.slice(0, at + HH_ASSISTANT.length);
  if (!rejected.startsWith(prompt))
    return {
      field: 'rejected',
      error: 'expected the same conversation as "chosen" up to its last "\\n\\nAssistant:" (HH-RLHF layout)',
    };
  return { prompt, chosen: chosen.slice(prompt.length), rejected: rejected.slice(prompt.length) };
}

/**
 * An HH-RLHF transcript prompt ("\n\nHuman: … \n\nAssistant: … \n\nHuman: … \n\nAssistant:") as
 * chat messages: one user / assistant message per turn, contents trimmed, the final empty
 * "Assistant:" turn dropped (it is the response's place). Null when the text is not such a transcript.
 */
export function hhPromptMessages(prompt: string): { role: 'user' | 'assistant'; content: string }[] | null {
  if (!prompt.startsWith(HH_HUMAN) || !prompt.endsWith(HH_ASSISTANT)) return null;
  const turns = prompt.slice(0, -HH_ASSISTANT.length).split(/(\n\nHuman:|\n\nAssistant:)/);
  const out: { role: 'user' | 'assistant'; content: string }[] = [];
  for (let i = 1; i < turns.length; i += 2)
    out.push({ role: turns[i] === HH_HUMAN ? 'user' : 'assistant', content: turns[i + 1].trim() });
  return out.length > 0 && out[out.length - 1].role === 'user' ? out : null;
}
