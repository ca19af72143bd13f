/**
 * The command class of both CLIs: commander's, with the command line docker users type.
 *
 * - Boolean flags take a value the way Go's flag packages do: `--rm=true`, `--sig-proxy=false`,
 *   `-t=false`, `-it=false` (i set, t cleared), with strconv.ParseBool's spellings. Each is
 *   rewritten, before commander parses, into the flag or its negation (`--no-rm`, declared
 *   hidden here for every boolean that lacks one), so the last one given still wins.
 * - `-e=A=1` gives a short option "A=1" (pflag), where commander would keep the "=".
 * - Usage errors are docker's: one line naming what was wrong, the usage line and where the
 *   help is; exit status 125 for flags, 1 for commands and arguments (as docker 28).
 *   The whole help is for `--help` and for a command group typed alone (stdout, status 0).
 */
import { Command, CommanderError, Option, type HelpContext, type OutputConfiguration } from 'commander';

/** strconv.ParseBool: what docker accepts after `--flag=`. */
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** commander's own state this class reads (private in its typings, stable in the pinned version). */
interface CommanderInternals {
  _passThroughOptions: boolean;
  _versionOptionName?: string;
  registeredArguments: ReadonlyArray<{ required: boolean; variadic: boolean }>;
}

const isBoolean = (o: Option) => !o.required && !o.optional;
const maybeOption = (arg: string) => arg.length > 1 && arg[0] === '-';

export class BerthCommand extends Command {
  private counterpartsAdded = false;

  override createCommand(name?: string): BerthCommand {
    return new BerthCommand(name);
  }

  /** `berth run`, `berth image ls`: the command as typed. */
  commandPath(): string {
    const names: string[] = [];
    for (let c: Command | null = this; c; c = c.parent) names.unshift(c.name());
    return names.join(' ');
  }

  override parseOptions(argv: string[]): { operands: string[]; unknown: string[] } {
    this.addBooleanCounterparts();
    return super.parseOptions(this.normalize(argv));
  }

  // ---- usage errors, docker's wording -------------------------------------------------------

  /** Every usage error ends here: the message, the usage line, where the help is. */
  private fail(message: string, exitCode: number, code: string, verb: 'Run' | 'See', usage = true): never {
    let root: Command = this;
    while (root.parent) root = root.parent;
    const out = root.configureOutput() as OutputConfiguration;
    const write = out.writeErr ?? ((s: string) => process.stderr.write(s));
    const path = this.commandPath();
    const usageLine = usage ? `\nUsage:  ${path} ${this.usage()}\n` : '';
    write(`${message}\n${usageLine}\n${verb} '${path} --help' for more information\n`);
    throw new CommanderError(exitCode, code, message);
  }

  override error(message: string, errorOptions?: { code?: string; exitCode?: number }): never {
    // What commander itself reports (invalid choices, conflicts): its words without "error: ".
    const code = errorOptions?.code ?? 'commander.error';
    const exitCode = code === 'commander.invalidArgument' || code === 'commander.conflictingOption' ? 125 : (errorOptions?.exitCode ?? 1);
    this.fail(message.replace(/^error: /, ''), exitCode, code, 'Run');
  }

  unknownOption(flag: string): never {
    const message = flag.startsWith('--') ? `unknown flag: ${flag.replace(/=.*/s, '')}` : `unknown shorthand flag: '${flag[1]}' in ${flag}`;
    this.fail(message, 125, 'commander.unknownOption', 'Run');
  }

  optionMissingArgument(option: Option): never {
    this.fail(`flag needs an argument: ${option.long ?? option.short}`, 125, 'commander.optionMissingArgument', 'Run');
  }

  missingArgument(): never {
    this.fail(`berth: '${this.commandPath()}' ${this.argumentCount()}`, 1, 'commander.missingArgument', 'See');
  }

  _excessArguments(): never {
    this.fail(`berth: '${this.commandPath()}' ${this.argumentCount()}`, 1, 'commander.excessArguments', 'See');
  }

  unknownCommand(): never {
    const name = this.args[0] ?? '';
    // An unknown flag before any command: commander only sees a word it cannot dispatch.
    if (maybeOption(name)) this.unknownOption(name);
    this.fail(`berth: unknown command: ${this.commandPath()} ${name}`, 1, 'commander.unknownCommand', 'Run', this.parent !== null);
  }

  /** A command group typed alone (`berth image`): its help on stdout, status 0, as docker. */
  override help(context?: HelpContext): never;
  override help(cb: (str: string) => string): never;
  override help(context?: HelpContext | ((str: string) => string)): never {
    if (typeof context === 'object' && context.error) {
      this.outputHelp();
      throw new CommanderError(0, 'commander.help', '(outputHelp)');
    }
    return typeof context === 'function' ? super.help(context) : super.help(context);
  }

  /** docker's Args validators: "requires at least 1 argument", "accepts no arguments"... */
  private argumentCount(): string {
    const args = (this as unknown as CommanderInternals).registeredArguments;
    const required = args.filter((a) => a.required).length;
    const n = (k: number) => `${k} argument${k === 1 ? '' : 's'}`;
    if (args.some((a) => a.variadic)) return `requires at least ${n(Math.max(required, 1))}`;
    if (args.length === 0) return 'accepts no arguments';
    if (required === args.length) return `requires ${n(required)}`;
    return required ? `requires at least ${n(required)} and at most ${n(args.length)}` : `requires at most ${n(args.length)}`;
  }

  // ---- boolean flags with values -------------------------------------------------------------

  private findOption(flag: string): Option | undefined {
    return this.options.find((o) => o.long === flag || o.short === flag);
  }

  /** `--no-X` for each boolean `--X`, `--X` for each `--no-X`: what `=false` / `=true` become. */
  private addBooleanCounterparts(): void {
    if (this.counterpartsAdded) return;
    this.counterpartsAdded = true;
    const version = (this as unknown as CommanderInternals)._versionOptionName;
    for (const o of [...this.options]) {
      if (!isBoolean(o) || !o.long || o.attributeName() === version) continue;
      const other = o.negate ? o.long.replace(/^--no-/, '--') : `--no-${o.long.slice(2)}`;
      if (!this.findOption(other)) this.addOption(new Option(other).hideHelp());
    }
  }

  /** `--X=value` as a bare flag: `--X` itself when true, its counterpart when false. */
  private booleanFlag(option: Option, value: boolean): string[] {
    if (value) return [option.long ?? option.short!];
    if (!option.long) return []; // a short-only flag or --version: false is its default
    const other = option.negate ? option.long.replace(/^--no-/, '--') : `--no-${option.long.slice(2)}`;
    return this.findOption(other) ? [other] : [];
  }

  private parseBoolean(option: Option, typed: string, value: string): boolean {
    if (TRUE.has(value)) return true;
    if (FALSE.has(value)) return false;
    const name = option.short && option.long ? `${option.short}, ${option.long}` : typed;
    this.fail(`invalid argument "${value}" for "${name}" flag: a boolean flag takes true or false (also 1, 0, t, f)`, 125, 'commander.invalidArgument', 'Run');
  }

  /**
   * Rewrites what commander does not know the way docker does (see the file comment), walking
   * the arguments as commander will: option values are skipped, and where this command stops
   * at its first operand (a subcommand's name, `run IMAGE`), the rest is left alone — it is
   * the subcommand's to parse, or the container's command line.
   */
  private normalize(args: string[]): string[] {
    const out: string[] = [];
    const stopAtOperand = this.commands.length > 0 || (this as unknown as CommanderInternals)._passThroughOptions;
    let i = 0;
    const takeValue = (option: Option) => {
      if (option.required && i < args.length) out.push(args[i++]!);
      else if (option.optional && i < args.length && !maybeOption(args[i]!)) out.push(args[i++]!);
    };
    while (i < args.length) {
      const arg = args[i++]!;
      if (arg === '--') {
        out.push(arg, ...args.slice(i));
        break;
      }
      if (arg.startsWith('--')) {
        const eq = arg.indexOf('=');
        const option = this.findOption(eq < 0 ? arg : arg.slice(0, eq));
        if (option && isBoolean(option) && eq >= 0) out.push(...this.booleanFlag(option, this.parseBoolean(option, arg.slice(0, eq), arg.slice(eq + 1))));
        else {
          out.push(arg);
          if (option && eq < 0) takeValue(option);
        }
        continue;
      }
      if (maybeOption(arg)) {
        const group = this.shortGroup(arg);
        out.push(...group.tokens);
        if (group.wantsValue) takeValue(group.wantsValue);
        continue;
      }
      out.push(arg);
      if (stopAtOperand) {
        out.push(...args.slice(i));
        break;
      }
    }
    return out;
  }

  /**
   * `-it=false`, `-e=A=1`, `-dp 80`: each known letter on its own, the rest as it was; the
   * option whose value is the next argument, when the group ends with one.
   */
  private shortGroup(arg: string): { tokens: string[]; wantsValue?: Option } {
    const tokens: string[] = [];
    for (let k = 1; k < arg.length; k++) {
      const option = this.findOption(`-${arg[k]}`);
      if (!option) {
        // Unknown (or a negative number): commander decides, with what is left of the group.
        tokens.push(k === 1 ? arg : `-${arg.slice(k)}`);
        return { tokens };
      }
      const rest = arg.slice(k + 1);
      if (isBoolean(option)) {
        if (rest.startsWith('=')) return { tokens: [...tokens, ...this.booleanFlag(option, this.parseBoolean(option, `-${arg[k]}`, rest.slice(1)))] };
        tokens.push(`-${arg[k]}`);
        continue;
      }
      tokens.push(`-${arg[k]}`);
      if (rest) {
        tokens.push(rest.startsWith('=') ? rest.slice(1) : rest);
        return { tokens };
      }
      return { tokens, wantsValue: option };
    }
    return { tokens };
  }
}
