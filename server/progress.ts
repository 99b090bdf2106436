// A terminal progress bar for long CLI work (import, bake, export). On a TTY it redraws one
// line; otherwise (CI logs, pipes) it prints a line per 10% so logs stay readable.
export class ProgressBar {
  private lastDecile = -1;
  private lastMessage = '';
  private readonly tty: boolean;
  constructor(private readonly stream: NodeJS.WriteStream) {
    this.tty = Boolean(stream.isTTY);
  }

  update(fraction: number, message: string): void {
    const f = Math.min(1, Math.max(0, fraction));
    if (this.tty) {
      const width = 28;
      const filled = Math.round(f * width);
      const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${message}`;
      const cols = this.stream.columns ?? 100;
      this.stream.write(`\r${line.slice(0, cols - 1).padEnd(cols - 1)}`);
      return;
    }
    const decile = Math.floor(f * 10);
    if (decile !== this.lastDecile || (message !== this.lastMessage && !message.startsWith(this.lastMessage.split(' ')[0] ?? ''))) {
      this.stream.write(`${(f * 100).toFixed(0).padStart(3)}% ${message}\n`);
      this.lastDecile = decile;
      this.lastMessage = message;
    }
  }

  done(): void {
    if (this.tty) this.stream.write('\n');
  }
}
