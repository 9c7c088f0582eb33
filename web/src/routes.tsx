/**
 * Every page of the dashboard and its path. A new page: a file in pages/, a line here, and a
 * nav entry in components/Layout.tsx if it is a section. The hub answers index.html for any
 * path outside /api, so each of these can be opened directly (src/http/web.ts).
 */
import type { RouteObject } from 'react-router';
import { Layout } from './components/Layout';
import { Collections } from './pages/Collections';
import { Device } from './pages/Device';
import { Exports } from './pages/Exports';
import { NotFound } from './pages/NotFound';
import { Organizations } from './pages/Organizations';
import { Overview } from './pages/Overview';
import { Variances } from './pages/Variances';

export const routes: RouteObject[] = [
  {
    element: <Layout />,
    children: [
      { index: true, element: <Overview /> },
      { path: 'variances', element: <Variances /> },
      { path: 'devices/:vendor/:key', element: <Device /> },
      { path: 'collections', element: <Collections /> },
      { path: 'organizations', element: <Organizations /> },
      { path: 'exports', element: <Exports /> },
      { path: '*', element: <NotFound /> },
    ],
  },
];
