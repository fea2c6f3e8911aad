// The older framework majors come in as npm aliases; type them as their current major, which the
// mounts only use through the shape both majors share.
declare module 'express4' {
  import express from 'express';
  export default express;
}
declare module 'koa2' {
  import Koa from 'koa';
  export default Koa;
}
