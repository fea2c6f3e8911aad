import express from 'express';
import { chatGptRoutes, type ChatGptRestOptions } from '@chatgpt-rest/express';

/** An ordinary Express app: its own JSON parser and routes, plus the ChatGPT routes under /chat. */
export function createApp(options: ChatGptRestOptions = {}): express.Express {
  const app = express();
  app.use(express.json());
  app.get('/health', (_req, res) => {
    res.json({ ok: true });
  });
  app.post('/notes', (req, res) => {
    res.status(201).json({ saved: req.body as unknown });
  });
  app.use('/chat', chatGptRoutes(options));
  return app;
}
