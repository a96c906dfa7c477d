// DDL regexes must mean the same in Ruby (MCollective), RE2 (Choria) and JavaScript
// (hvagent). They are written `\A…\z` (whole-text anchors in Ruby and RE2, where `^$`
// are line anchors in Ruby) and avoid what RE2 lacks: lookaround and backreferences.

const UNPORTABLE = [/\(\?[=!<]/, /\\[1-9]/, /\\k</, /\(\?[a-z]*x/];

export function portableRegexProblem(source: string): string | undefined {
  if (!source.startsWith('\\A') || !source.endsWith('\\z')) return 'must be anchored as \\A…\\z';
  if (UNPORTABLE.some((pattern) => pattern.test(source))) return 'uses lookaround, backreferences or the x flag, which RE2 lacks';
  try {
    new RegExp(toJavaScriptRegex(source), 'u');
  } catch (error) {
    return `does not compile: ${(error as Error).message}`;
  }
  return undefined;
}

/** `\A…\z` → `^…$`: without the m flag JavaScript's anchors are whole-text anchors too. */
export function toJavaScriptRegex(source: string): string {
  return `^${source.slice(2, -2)}$`;
}
