/**
 * The routes the server registered (method + template), to tell a wrong
 * method (405 with `Allow`) from an unknown path (404).
 */
export class RouteTable {
  private readonly routes: Array<{ method: string; pattern: RegExp }> = [];

  add(method: string | string[], url: string): void {
    // Catch-all routes (CORS preflight `OPTIONS *`) say nothing about which paths exist.
    if (url === '*' || url === '/*') return;
    const source = url
      .replace(/\/+$/, '')
      .split('/')
      .map((seg) =>
        seg.startsWith(':')
          ? '[^/]+'
          : seg === '*'
            ? '.*'
            : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('/');
    const pattern = new RegExp(`^${source}/?$`);
    for (const m of Array.isArray(method) ? method : [method])
      this.routes.push({ method: m.toUpperCase(), pattern });
  }

  /** Methods registered for this concrete path (empty when none). */
  allowed(path: string): string[] {
    const p = path.split('?')[0];
    return [...new Set(this.routes.filter((r) => r.pattern.test(p)).map((r) => r.method))].sort();
  }
}
