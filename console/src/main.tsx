import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createHashRouter, Navigate } from 'react-router';
import { RouterProvider } from 'react-router/dom';
import { I18nProvider } from './i18n.ts';
import { SessionProvider, useSession } from './session.tsx';
import { Allowed, Layout } from './components/Layout.tsx';
import { Login } from './pages/Login.tsx';
import { Overview } from './pages/Overview.tsx';
import { Data } from './pages/Data.tsx';
import { People } from './pages/People.tsx';
import { Person } from './pages/Person.tsx';
import { Tags } from './pages/Tags.tsx';
import { TagEdit } from './pages/TagEdit.tsx';
import { Segments } from './pages/Segments.tsx';
import { SegmentBuilder } from './pages/SegmentBuilder.tsx';
import { Plans } from './pages/Plans.tsx';
import { PlanEdit } from './pages/PlanEdit.tsx';
import { PlanDetail } from './pages/PlanDetail.tsx';
import { Settings } from './pages/Settings.tsx';
import { Tasks } from './pages/Tasks.tsx';
import { Account } from './pages/Account.tsx';
import { JourneyDetail } from './pages/JourneyDetail.tsx';
import { NotFound } from './pages/NotFound.tsx';
import './styles.css';

/** The start page: the overview, or people for roles without it (staff). */
function Home() {
  const { can } = useSession();
  return can('overview') ? <Overview /> : <Navigate to="/people" replace />;
}

const router = createHashRouter([
  { path: '/login', element: <Login /> },
  {
    element: <Layout />,
    children: [
      { index: true, element: <Home /> },
      {
        path: 'data',
        element: (
          <Allowed needs="data.read">
            <Data />
          </Allowed>
        ),
      },
      { path: 'people', element: <People /> },
      { path: 'people/:id', element: <Person /> },
      { path: 'tasks', element: <Tasks /> },
      {
        path: 'tags',
        element: (
          <Allowed needs="data.read">
            <Tags />
          </Allowed>
        ),
      },
      {
        path: 'tags/new',
        element: (
          <Allowed needs="build">
            <TagEdit />
          </Allowed>
        ),
      },
      {
        path: 'tags/:key',
        element: (
          <Allowed needs="data.read">
            <TagEdit />
          </Allowed>
        ),
      },
      {
        path: 'segments',
        element: (
          <Allowed needs="data.read">
            <Segments />
          </Allowed>
        ),
      },
      {
        path: 'segments/new',
        element: (
          <Allowed needs="build">
            <SegmentBuilder />
          </Allowed>
        ),
      },
      {
        path: 'segments/:key',
        element: (
          <Allowed needs="data.read">
            <SegmentBuilder />
          </Allowed>
        ),
      },
      {
        path: 'plans',
        element: (
          <Allowed needs="plans.read">
            <Plans />
          </Allowed>
        ),
      },
      {
        path: 'plans/new',
        element: (
          <Allowed needs="build">
            <PlanEdit />
          </Allowed>
        ),
      },
      {
        path: 'plans/:key',
        element: (
          <Allowed needs="plans.read">
            <PlanDetail />
          </Allowed>
        ),
      },
      {
        path: 'plans/:key/edit',
        element: (
          <Allowed needs="build">
            <PlanEdit />
          </Allowed>
        ),
      },
      {
        path: 'journeys/:key',
        element: (
          <Allowed needs="plans.read">
            <JourneyDetail />
          </Allowed>
        ),
      },
      {
        path: 'settings',
        element: (
          <Allowed needs="policy.read">
            <Settings />
          </Allowed>
        ),
      },
      { path: 'account', element: <Account /> },
      { path: '*', element: <NotFound /> },
    ],
  },
]);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <I18nProvider>
      <SessionProvider>
        <RouterProvider router={router} />
      </SessionProvider>
    </I18nProvider>
  </StrictMode>,
);
