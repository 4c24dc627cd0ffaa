// Entry point for every page but Today (which has today-app.js).  These pages
// are server-rendered: their components load after the first paint, so none
// of them stands between a page and its content.
import {afterFirstPaint, startComponents} from './start.js';

afterFirstPaint().then(startComponents);
