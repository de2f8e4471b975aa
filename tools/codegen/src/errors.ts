/**
 * A problem with the user's input (headers, config, command line). The CLI prints it as one line,
 * `<file>:<line>: <message> Fix: <fix>`, and never a stack trace; anything else is a bug in the
 * codegen and is reported as such.
 */
export class CodegenError extends Error {
  override readonly name = 'CodegenError';

  constructor(
    message: string,
    /** The file the problem is in (a header, the config, a folder), as the user named it. */
    readonly file: string,
    /** 1-based line in `file`, or 0 when the problem has no line (a missing folder). */
    readonly line: number,
    /** What the user should do about it. */
    readonly fix: string,
  ) {
    super(message);
  }

  /** The single line the CLI prints. */
  oneLine(): string {
    const where = this.line > 0 ? `${this.file}:${this.line}` : this.file;
    return `${where}: ${this.message} Fix: ${this.fix}`.replace(/\s*\n\s*/g, ' ');
  }
}
