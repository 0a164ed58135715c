/** Async iterables for stage tests: a source from an array, and the items a stage yields, collected. */

/** Yields `items` one by one; `onPull` hears how many have been pulled so far. */
export async function* framesFrom<T>(items: T[], onPull?: (count: number) => void): AsyncGenerator<T> {
  let pulled = 0;
  for (const item of items) {
    onPull?.(++pulled);
    yield item;
  }
}

export async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}
