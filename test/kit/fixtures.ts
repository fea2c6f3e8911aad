import { readFileSync } from 'node:fs';

/** The folder of real upstream captures (see its SOURCES.md). */
export const FIXTURES = new URL('../fixtures/upstream/', import.meta.url);

/** A capture's bytes. */
export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, FIXTURES)));
}

/** A capture's text. */
export function fixtureText(name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

/** A capture parsed as JSON. */
export function fixtureJson(name: string): unknown {
  return JSON.parse(fixtureText(name));
}
