export interface BuiltFile {
  file: string;
  bytes: number;
  gzipBytes: number;
  budget: number;
}
export const distDir: string;
export const BUDGETS: { core: number; full: number };
export function buildBrowserSdk(): Promise<{ full: BuiltFile; core: BuiltFile }>;
