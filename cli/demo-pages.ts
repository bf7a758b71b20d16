/** The URL of the gateway's pages, as the demo prints it (none when HTTP is off). */

export function pagesUrl(listen: string | false): string | undefined {
  return listen === false ? undefined : `http://${listen}/`;
}
