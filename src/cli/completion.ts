import type { Command } from 'commander';
import { RESOURCE_TYPES } from './resource-types';

/**
 * Shell completion. The logic lives here, not in shell code: the bash and zsh scripts call the
 * hidden `opampctl __complete WORDS...` with the words typed so far, and it prints the candidates,
 * one a line (resource names are asked of the server with a short timeout).
 */

export interface CommandSpec {
  name: string;
  aliases: string[];
  /** Every flag spelling: `-o`, `--output`. */
  flags: string[];
  /** Flags that take a value, so the next word is that value. */
  valueFlags: string[];
  /** Allowed values of flags with choices. */
  choices: Record<string, string[]>;
  subcommands: CommandSpec[];
}

/** The command tree as completion sees it, from commander's definitions (hidden commands left out). */
export function specOf(cmd: Command): CommandSpec {
  const flags: string[] = [];
  const valueFlags: string[] = [];
  const choices: Record<string, string[]> = {};
  for (const opt of cmd.options) {
    const names = [opt.short, opt.long].filter((x): x is string => Boolean(x));
    flags.push(...names);
    if (opt.required || opt.optional) valueFlags.push(...names);
    if (opt.argChoices) for (const n of names) choices[n] = opt.argChoices;
  }
  return {
    name: cmd.name(),
    aliases: cmd.aliases(),
    flags,
    valueFlags,
    choices,
    subcommands: cmd.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden).map(specOf),
  };
}

/** What a position expects: resource types, names of a type, contexts, files, or fixed words. */
export type Slot =
  { kind: 'types'; only?: string[] } | { kind: 'names'; type?: string } | { kind: 'contexts' } | { kind: 'words'; words: string[] } | { kind: 'none' };

/** Positional arguments of the commands that have them, by command path. */
export function positionalSlots(path: string[], args: string[]): Slot {
  const key = path.join(' ');
  const n = args.length;
  switch (key) {
    case 'get':
    case 'describe':
    case 'delete':
    case 'edit':
      return n === 0 ? { kind: 'types' } : { kind: 'names', type: args[0] };
    case 'label':
      return n === 0 ? { kind: 'types', only: ['agents', 'agentgroups'] } : n === 1 ? { kind: 'names', type: args[0] } : { kind: 'none' };
    case 'wait':
      return n === 0 ? { kind: 'words', words: ['agent', 'agentgroup'] } : n === 1 ? { kind: 'names', type: args[0] } : { kind: 'none' };
    case 'restart':
      return n === 0 ? { kind: 'words', words: ['agent'] } : n === 1 ? { kind: 'names', type: 'agents' } : { kind: 'none' };
    case 'config use-context':
    case 'config delete-context':
    case 'config set-context':
      return n === 0 ? { kind: 'contexts' } : { kind: 'none' };
    case 'config diff':
    case 'config rollback':
    case 'config history':
      return n === 0 ? { kind: 'names', type: 'remoteconfigs' } : { kind: 'none' };
    case 'completion':
      return n === 0 ? { kind: 'words', words: ['bash', 'zsh'] } : { kind: 'none' };
    default:
      return { kind: 'none' };
  }
}

/** Value completions of flags, beyond commander's choices. */
function flagValueSlot(flag: string, choices: string[] | undefined): Slot | 'files' {
  if (choices) return { kind: 'words', words: choices };
  if (flag === '--context') return { kind: 'contexts' };
  if (flag === '-f' || flag === '--filename' || flag === '--from-file' || flag === '--config') return 'files';
  if (flag === '--agent') return { kind: 'names', type: 'agents' };
  if (flag === '--group') return { kind: 'names', type: 'agentgroups' };
  if (flag === '--remote-config') return { kind: 'names', type: 'remoteconfigs' };
  return { kind: 'none' };
}

export interface CompletionRequest {
  /** What the current word should complete to. */
  slot: Slot | 'files';
  /** The word being completed (a prefix). */
  current: string;
}

/**
 * Works out what the last word (possibly empty) should be completed with, given the words
 * before it (without the program name).
 */
export function completionRequest(root: CommandSpec, words: string[]): CompletionRequest {
  const current = words.length ? words[words.length - 1] : '';
  const before = words.slice(0, -1);
  let cmd = root;
  const path: string[] = [];
  const args: string[] = [];
  let pendingFlag: { flag: string; spec: CommandSpec } | undefined;
  const globals = root;
  const allFlags = (c: CommandSpec) => [...c.flags, ...globals.flags];
  const isValueFlag = (c: CommandSpec, f: string) => c.valueFlags.includes(f) || globals.valueFlags.includes(f);
  for (const w of before) {
    if (pendingFlag) {
      pendingFlag = undefined;
      continue;
    }
    if (w.startsWith('-')) {
      if (!w.includes('=') && isValueFlag(cmd, w)) pendingFlag = { flag: w, spec: cmd };
      continue;
    }
    const sub = args.length === 0 ? cmd.subcommands.find((s) => s.name === w || s.aliases.includes(w)) : undefined;
    if (sub) {
      cmd = sub;
      path.push(sub.name);
    } else args.push(w);
  }
  if (pendingFlag) {
    const c = pendingFlag.spec;
    return { slot: flagValueSlot(pendingFlag.flag, c.choices[pendingFlag.flag] ?? globals.choices[pendingFlag.flag]), current };
  }
  if (current.startsWith('-')) return { slot: { kind: 'words', words: [...new Set(allFlags(cmd).filter((f) => f.startsWith('--')))] }, current };
  if (cmd.subcommands.length && args.length === 0) {
    const own = positionalSlots(path, args);
    const subs = cmd.subcommands.map((s) => s.name).filter((n) => n !== 'help');
    // `create` takes -f or a subcommand; other commands with subcommands take only those.
    if (own.kind === 'none') return { slot: { kind: 'words', words: subs }, current };
  }
  return { slot: positionalSlots(path, args), current };
}

/** Every name a resource type can be given by, for completing types. */
export function typeWords(only?: string[]): string[] {
  return RESOURCE_TYPES.filter((t) => !only || only.includes(t.plural)).flatMap((t) => [t.plural, ...t.aliases]);
}

export function bashScript(): string {
  return `# bash completion for opampctl
# Load it in the current shell:   source <(opampctl completion bash)
# Or for every shell:             opampctl completion bash > /etc/bash_completion.d/opampctl
_opampctl() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  local out
  out=$(opampctl __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return 0
  if [[ "$out" == ":files" ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
    return 0
  fi
  local IFS=$'\\n'
  COMPREPLY=($(compgen -W "$out" -- "$cur"))
}
complete -o default -F _opampctl opampctl
`;
}

export function zshScript(): string {
  return `#compdef opampctl
# zsh completion for opampctl
# Load it in the current shell:   source <(opampctl completion zsh)
# Or for every shell:             opampctl completion zsh > "\${fpath[1]}/_opampctl"
_opampctl() {
  local -a candidates
  local out
  out=$(opampctl __complete "\${(@)words[2,CURRENT]}" 2>/dev/null) || return 1
  if [[ "$out" == ":files" ]]; then
    _files
    return
  fi
  candidates=("\${(@f)out}")
  compadd -- "\${candidates[@]}"
}
if [[ "\${funcstack[1]}" == "_opampctl" ]]; then
  _opampctl "$@"
else
  compdef _opampctl opampctl
fi
`;
}
