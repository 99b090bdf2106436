// Server side: the scene list (the list itself loads in the browser from GET /api/scenes).
import { SceneList } from './scenes/SceneList';

export default function HomePage() {
  return <SceneList />;
}
