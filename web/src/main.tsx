import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter } from 'react-router';
import { RouterProvider } from 'react-router/dom';
import { SessionProvider } from './api/session';
import { SessionGate } from './components/SignIn';
import { ToastProvider } from './components/Toast';
import { routes } from './routes';
import './styles/theme.css';
import './styles/app.css';

const container = document.getElementById('root');
if (!container) throw new Error('index.html has no #root element');

const router = createBrowserRouter(routes);

createRoot(container).render(
  <StrictMode>
    <ToastProvider>
      <SessionProvider>
        <SessionGate>
          <RouterProvider router={router} />
        </SessionGate>
      </SessionProvider>
    </ToastProvider>
  </StrictMode>,
);
