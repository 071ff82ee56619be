import { Suspense } from 'react'
import { Loading } from '../../components/states'
import { DatasetsPage } from '../../features/datasets/components/datasets-page'

export default function Page() {
  return (
    <Suspense fallback={<Loading />}>
      <DatasetsPage />
    </Suspense>
  )
}
