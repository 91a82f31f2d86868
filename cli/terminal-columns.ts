// How wide the terminal behind a stream is: its own size when it is a terminal, else COLUMNS when
// set (a pager or a script may pass it on), else undefined: no limit.
export function terminalColumns(
  stream: { isTTY?: boolean; columns?: number },
  env: NodeJS.ProcessEnv = process.env,
): number | undefined {
  if (stream.isTTY === true && stream.columns !== undefined && stream.columns > 0)
    return stream.columns;
  const fromEnv = Number(env.COLUMNS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : undefined;
}
