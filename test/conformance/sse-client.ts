/** One event of the REST stream, as a client reads it. */
export interface ClientEvent {
  event: string;
  data: unknown;
}

/**
 * Reads a `text/event-stream` response event by event (a tiny client for tests: comments are
 * reported as `{event: 'comment'}`).
 */
export async function* readEvents(response: Response): AsyncGenerator<ClientEvent> {
  if (response.body === null) return;
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (block.startsWith(':')) {
        yield { event: 'comment', data: block.slice(1).trim() };
        continue;
      }
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      yield { event, data: JSON.parse(data) as unknown };
    }
  }
}

/** All events of a stream. */
export async function allEvents(response: Response): Promise<ClientEvent[]> {
  const events: ClientEvent[] = [];
  for await (const event of readEvents(response)) events.push(event);
  return events;
}
