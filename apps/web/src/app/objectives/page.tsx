import { Suspense } from 'react'
import { Loading } from '../../components/states'
import { ObjectivesPage } from '../../features/objectives/components/objectives-page'

export default function Page() {
  return (
    <Suspense fallback={<Loading />}>
      <ObjectivesPage />
    </Suspense>
  )
}
