export interface VitestJsonReport {
  testResults?: Array<{
    name: string;
    status?: string;
    message?: string;
    assertionResults?: Array<{ status: string; fullName?: string; title?: string; failureMessages?: string[] }>;
  }>;
}
export function failedTestLines(report: VitestJsonReport, root: string, max?: number): string[];
