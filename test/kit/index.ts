/**
 * `@chatgpt-rest/test-kit`: what the repository's tests share, so that each exists once.
 */
export { FIXTURES, fixtureBytes, fixtureJson, fixtureText } from './fixtures.js';
