import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
createApp().listen(port, '127.0.0.1', () => {
  console.log(`express example on http://127.0.0.1:${port} (ChatGPT routes under /chat)`);
});
